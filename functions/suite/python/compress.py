# Compression: n KiB of generated text deflated with zlib, then inflated and checked.
import zlib

M = 2147483647
WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "serverless", "function", "isolate",
         "graal", "polyglot", "snapshot", "worker", "trace", "azure", "cold", "warm"]


def text(size, seed):
    s = seed % (M - 1) + 1
    parts = []
    length = 0
    while length < size:
        s = s * 48271 % M
        w = WORDS[s % len(WORDS)]
        parts.append(w)
        length += len(w) + 1
    return (" ".join(parts))[:size]


def main(args):
    n = int(args.get("n", 64))
    data = text(n * 1024, int(args.get("seed", 7))).encode("ascii")
    packed = zlib.compress(data, 6)
    ok = zlib.decompress(packed) == data
    return {"in": len(data), "out": len(packed), "ok": ok, "codec": "deflate"}
