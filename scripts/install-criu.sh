#!/usr/bin/env bash
# Idempotently install CRIU 4.1.1 into <repo>/.cache/criu/bin/criu.
#
# Debian 12's packaged criu (3.17) fails on recent kernels with
# "vdso: Unexpected rt vDSO area bounds", so we build CRIU from the Debian 13
# (trixie) source package instead:
#   1. add a deb-src-only entry for trixie (no binary packages are ever pulled
#      from trixie: there is no `deb` line for it),
#   2. apt-get update && apt-get source --download-only criu=4.1.1-*,
#   3. install the build dependencies from the machine's own (bookworm) archive,
#   4. unpack the orig tarball and `make criu`,
#   5. copy criu/criu to .cache/criu/bin/criu.
#
# CRIU caches what it probes about the kernel (kerndat, ~35 ms a run) only on a
# tmpfs, and /run is not one on every machine: it is built with RUNDIR on
# /dev/shm instead (the daemon creates the directory; without it CRIU just probes).
#
# pycriu (CRIU's image codec, generated from its .proto files in the same build)
# goes to .cache/criu/lib: graalvisor rewrites images with it (pool/rebase.py).
#
# If .cache/criu/bin/criu already exists, reports version 4.x and was built
# with this RUNDIR, and pycriu is there, nothing is done. The last line of
# stdout is always the path of the binary; all apt/build noise goes to
# .cache/criu/build.log.
set -euo pipefail

CRIU_UPSTREAM_VERSION="4.1.1"
SRC_SUITE="trixie"
FALLBACK_MIRROR="http://deb.debian.org/debian"
KEYRING="/usr/share/keyrings/debian-archive-keyring.gpg"
BUILD_DEPS=(
    build-essential dpkg-dev pkg-config
    libbsd-dev libcap-dev libnet1-dev libnl-3-dev libprotobuf-c-dev libprotobuf-dev
    protobuf-c-compiler protobuf-compiler python3-protobuf uuid-dev
    libgnutls28-dev libnftables-dev
)

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CACHE_DIR="$REPO_ROOT/.cache/criu"
BIN="$CACHE_DIR/bin/criu"
LOG="$CACHE_DIR/build.log"
KDAT_RUNDIR="/dev/shm/graalvisor-criu"
FLAVOUR="rundir=$KDAT_RUNDIR pycriu"

is_installed() {
    [[ -x "$BIN" ]] && "$BIN" --version 2>/dev/null | grep -q '^Version: 4\.' \
        && [[ "$(cat "$BIN.flavour" 2>/dev/null)" == "$FLAVOUR" ]] \
        && [[ -f "$CACHE_DIR/lib/pycriu/images/images.py" ]]
}

# ---- fast path --------------------------------------------------------------
if is_installed; then
    echo "$BIN"
    exit 0
fi

# ---- slow path --------------------------------------------------------------
msg() { echo "install-criu: $*" >&2; }
die() { echo "install-criu: ERROR: $*" >&2; exit 1; }

mkdir -p "$CACHE_DIR/bin"

# Serialize concurrent invocations; re-check once we hold the lock.
exec 9>"$CACHE_DIR/.lock"
command -v flock >/dev/null 2>&1 && flock 9
if is_installed; then
    echo "$BIN"
    exit 0
fi

: >"$LOG"

# run_step DESCRIPTION CMD...: run CMD with all output appended to $LOG; on
# failure print a clear error plus the tail of the log and exit.
run_step() {
    local desc="$1"; shift
    msg "$desc"
    echo "==== $desc: $*" >>"$LOG"
    local rc=0
    "$@" >>"$LOG" 2>&1 || rc=$?
    if (( rc != 0 )); then
        {
            echo "install-criu: ERROR: step '$desc' failed (exit $rc)."
            echo "install-criu: command: $*"
            echo "install-criu: last lines of $LOG:"
            tail -n 30 "$LOG" | sed 's/^/    /'
        } >&2
        exit "$rc"
    fi
}

SUDO=()
if (( EUID != 0 )); then
    command -v sudo >/dev/null 2>&1 || die "must run as root (or have sudo) to use apt-get"
    SUDO=(sudo)
fi
command -v apt-get >/dev/null 2>&1 || die "apt-get not found (this script needs Debian)"

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)

# -- 1. deb-src entry for trixie ----------------------------------------------
# Find the Debian archive mirror the machine already uses (deb822 or one-line).
MIRROR=""
FORMAT="deb822"
shopt -s nullglob
for f in /etc/apt/sources.list.d/*.sources; do
    u="$(awk 'tolower($1)=="uris:" { for (i=2;i<=NF;i++) print $i }' "$f" \
        | grep -E '/debian/?$' | head -n1 || true)"
    if [[ -n "$u" ]]; then MIRROR="$u"; FORMAT="deb822"; break; fi
done
if [[ -z "$MIRROR" ]]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f "$f" ]] || continue
        u="$(sed -E 's/\[[^]]*\]//' "$f" | awk '$1=="deb" || $1=="deb-src" { print $2 }' \
            | grep -E '/debian/?$' | head -n1 || true)"
        if [[ -n "$u" ]]; then MIRROR="$u"; FORMAT="list"; break; fi
    done
fi
shopt -u nullglob
if [[ -z "$MIRROR" ]]; then
    MIRROR="$FALLBACK_MIRROR"
    msg "no Debian mirror found in apt sources; using $MIRROR"
fi
MIRROR="${MIRROR%/}"

SIGNED_BY=""
[[ -f "$KEYRING" ]] && SIGNED_BY="$KEYRING"

if [[ "$FORMAT" == "deb822" ]]; then
    SRC_FILE="/etc/apt/sources.list.d/${SRC_SUITE}-src.sources"
    SRC_CONTENT="# Added by graalvisor scripts/install-criu.sh: source packages only
# (no binary packages are installed from ${SRC_SUITE}).
Types: deb-src
URIs: ${MIRROR}
Suites: ${SRC_SUITE}
Components: main${SIGNED_BY:+
Signed-By: ${SIGNED_BY}}
"
else
    SRC_FILE="/etc/apt/sources.list.d/${SRC_SUITE}-src.list"
    SRC_CONTENT="# Added by graalvisor scripts/install-criu.sh: source packages only
# (no binary packages are installed from ${SRC_SUITE}).
deb-src ${SIGNED_BY:+[signed-by=${SIGNED_BY}] }${MIRROR} ${SRC_SUITE} main
"
fi

if [[ ! -f "$SRC_FILE" ]] || [[ "$(cat "$SRC_FILE")"$'\n' != "$SRC_CONTENT" ]]; then
    msg "writing $SRC_FILE (deb-src ${SRC_SUITE} from ${MIRROR})"
    printf '%s' "$SRC_CONTENT" | "${SUDO[@]}" tee "$SRC_FILE" >/dev/null \
        || die "could not write $SRC_FILE"
fi

# -- 2. apt-get update + build deps ---------------------------------------------
run_step "apt-get update" "${SUDO[@]}" apt-get "${APT_OPTS[@]}" update
run_step "installing build dependencies" \
    "${SUDO[@]}" apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "${BUILD_DEPS[@]}"

# -- 3. download the source -------------------------------------------------------
# Pick the trixie source version whose upstream part is $CRIU_UPSTREAM_VERSION.
SRC_VERSION="$(apt-cache showsrc criu 2>>"$LOG" \
    | awk '$1=="Version:" { print $2 }' \
    | grep -E "^([0-9]+:)?${CRIU_UPSTREAM_VERSION//./\\.}-" | sort -uV | tail -n1 || true)"
[[ -n "$SRC_VERSION" ]] || die "criu ${CRIU_UPSTREAM_VERSION} source not found in apt (is the ${SRC_SUITE} deb-src entry in $SRC_FILE working?); see $LOG"
msg "using criu source package $SRC_VERSION"

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/install-criu.XXXXXX")"
trap 'rm -rf "$WORK_DIR"' EXIT
# apt-get source downloads as the unprivileged _apt user when it can write the
# target dir; give it the dir to avoid the "unsandboxed as root" warning.
chmod 755 "$WORK_DIR"
if (( EUID == 0 )) && id _apt >/dev/null 2>&1; then chown _apt "$WORK_DIR" || true; fi

# Only the orig tarball is needed. Some package mirrors/proxies serve the
# tarball but answer 404 for the .dsc and .debian.tar.xz, which makes
# `apt-get source` exit non-zero; so a failure here is tolerated as long as the
# orig tarball arrived, and its checksum is verified against the (signed)
# Sources index below.
msg "downloading criu ${SRC_VERSION} source"
echo "==== downloading criu ${SRC_VERSION} source" >>"$LOG"
if ! (cd "$WORK_DIR" && apt-get -o Acquire::Retries=3 source --download-only "criu=${SRC_VERSION}") >>"$LOG" 2>&1; then
    echo "(apt-get source exited non-zero; continuing if the orig tarball was fetched)" >>"$LOG"
fi

ORIG_TARBALL="$(find "$WORK_DIR" -maxdepth 1 -name "criu_${CRIU_UPSTREAM_VERSION}.orig.tar.*" ! -name '*.asc' | head -n1)"
if [[ -z "$ORIG_TARBALL" ]]; then
    {
        echo "install-criu: ERROR: could not download criu_${CRIU_UPSTREAM_VERSION}.orig.tar.* with apt-get source."
        echo "install-criu: last lines of $LOG:"
        tail -n 20 "$LOG" | sed 's/^/    /'
    } >&2
    exit 1
fi

# Verify the tarball against the SHA256 listed in the trixie Sources index.
EXPECTED_SHA256="$(apt-cache showsrc criu 2>>"$LOG" | awk -v v="$SRC_VERSION" -v f="$(basename "$ORIG_TARBALL")" '
    /^Package:/ { ver = ""; sect = "" }
    /^Version:/ { ver = $2 }
    /^[A-Za-z0-9-]+:/ { sect = $1 }
    sect == "Checksums-Sha256:" && ver == v && NF == 3 && $3 == f { print $1; exit }')"
ACTUAL_SHA256="$(sha256sum "$ORIG_TARBALL" | awk '{ print $1 }')"
if [[ -z "$EXPECTED_SHA256" ]]; then
    die "no SHA256 for $(basename "$ORIG_TARBALL") found in 'apt-cache showsrc criu' (version ${SRC_VERSION})"
fi
[[ "$EXPECTED_SHA256" == "$ACTUAL_SHA256" ]] \
    || die "checksum mismatch for $(basename "$ORIG_TARBALL"): expected $EXPECTED_SHA256, got $ACTUAL_SHA256"
echo "sha256 OK: $ACTUAL_SHA256  $(basename "$ORIG_TARBALL")" >>"$LOG"

# -- 4. build ----------------------------------------------------------------------
run_step "unpacking $(basename "$ORIG_TARBALL")" tar -C "$WORK_DIR" -xf "$ORIG_TARBALL"
SRC_DIR="$(find "$WORK_DIR" -mindepth 1 -maxdepth 1 -type d -name 'criu*' | head -n1)"
[[ -n "$SRC_DIR" && -f "$SRC_DIR/Makefile" ]] || die "unpacked criu source tree not found in $WORK_DIR"

run_step "building criu (make -j2 criu)" make -C "$SRC_DIR" -j2 criu RUNDIR="$KDAT_RUNDIR"
[[ -x "$SRC_DIR/criu/criu" ]] || die "build finished but $SRC_DIR/criu/criu is missing; see $LOG"
run_step "generating pycriu (make lib)" make -C "$SRC_DIR" lib
[[ -f "$SRC_DIR/lib/pycriu/images/images.py" ]] || die "make lib finished but pycriu is missing; see $LOG"

# -- 5. install into the cache -------------------------------------------------------
install -m 0755 "$SRC_DIR/criu/criu" "$BIN.tmp"
mv -f "$BIN.tmp" "$BIN"
rm -rf "$CACHE_DIR/lib.tmp" && mkdir -p "$CACHE_DIR/lib.tmp"
cp -r "$SRC_DIR/lib/pycriu" "$CACHE_DIR/lib.tmp/pycriu"
rm -rf "$CACHE_DIR/lib" && mv "$CACHE_DIR/lib.tmp" "$CACHE_DIR/lib"
echo "$FLAVOUR" >"$BIN.flavour"
is_installed || die "installed $BIN but '$BIN --version' does not report 4.x, or pycriu is missing"
msg "installed $("$BIN" --version | head -n1)"

echo "$BIN"
