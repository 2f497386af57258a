"""The polyglot function suite: where each function lives in each language, and how to build the Java jar."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from graalvisor.uploads import file_upload, upload_body

REPO = Path(__file__).resolve().parents[2]
SUITE_DIR = REPO / "functions" / "suite"
SUITE_JAR = SUITE_DIR / "java" / "suite.jar"
BUILD_DIR = REPO / "build" / "bench"
LANGUAGES = ("js", "python", "java")


@dataclass(frozen=True)
class SuiteFunction:
    name: str  # suite name, e.g. "bfs"
    stem: str  # file stem for js/python
    java_class: str
    default_n: int
    # work grows as n ** power; the cost model is ms = fixed + per_unit * n ** power
    power: int
    min_n: int
    max_n: int


SUITE: tuple[SuiteFunction, ...] = (
    SuiteFunction("hello", "hello", "suite.Hello", 1, 0, 1, 1),
    SuiteFunction("html", "html", "suite.Html", 200, 1, 10, 200_000),
    SuiteFunction("bfs", "bfs", "suite.Bfs", 2000, 1, 100, 400_000),
    SuiteFunction("mst", "mst", "suite.Mst", 2000, 1, 100, 300_000),
    SuiteFunction("pagerank", "pagerank", "suite.PageRank", 2000, 1, 100, 300_000),
    SuiteFunction("compress", "compress", "suite.Compress", 64, 1, 4, 8192),
    SuiteFunction("sha256", "sha256", "suite.Sha256", 2048, 1, 4, 1_048_576),
    SuiteFunction("json", "json_transform", "suite.JsonTransform", 1000, 1, 50, 200_000),
    SuiteFunction("matmul", "matmul", "suite.MatMul", 64, 3, 8, 600),
    SuiteFunction("thumbnail", "thumbnail", "suite.Thumbnail", 256, 2, 16, 4096),
)
BY_NAME = {f.name: f for f in SUITE}


def java_home() -> Path:
    env = os.environ.get("JAVA_HOME")
    if env and (Path(env) / "bin" / "javac").exists() and "25" in Path(env).name:
        return Path(env)
    for cand in sorted(Path("/usr/lib/jvm").glob("*25*")):
        if (cand / "bin" / "javac").exists():
            return cand
    if env:
        return Path(env)
    raise RuntimeError("no JDK 25 found in /usr/lib/jvm; set JAVA_HOME to a JDK 25 (Temurin 25)")


def gson_jar() -> Path:
    jars = sorted((REPO / "isolates" / "target" / "lib").glob("gson-*.jar"))
    if not jars:
        raise RuntimeError("gson jar missing under isolates/target/lib: run `make build` first")
    return jars[0]


def _stale(target: Path, sources: list[Path]) -> bool:
    return not target.exists() or any(s.stat().st_mtime > target.stat().st_mtime for s in sources)


def build_suite_jar() -> Path:
    """Compile functions/suite/java into suite.jar once; later calls reuse it until a source changes."""
    sources = sorted((SUITE_DIR / "java" / "src").rglob("*.java"))
    if not _stale(SUITE_JAR, sources):
        return SUITE_JAR
    jdk = java_home()
    classes = BUILD_DIR / "suite-classes"
    shutil.rmtree(classes, ignore_errors=True)
    classes.mkdir(parents=True)
    subprocess.run([str(jdk / "bin" / "javac"), "--release", "21", "-nowarn", "-d", str(classes),
                    "-cp", str(gson_jar()), *map(str, sources)], check=True, capture_output=True)
    tmp = SUITE_JAR.with_suffix(".jar.tmp")
    subprocess.run([str(jdk / "bin" / "jar"), "--create", "--file", str(tmp), "-C", str(classes), "."],
                   check=True, capture_output=True)
    tmp.replace(SUITE_JAR)
    return SUITE_JAR


def source_path(fn: SuiteFunction, language: str) -> Path:
    if language == "js":
        return SUITE_DIR / "js" / f"{fn.stem}.js"
    if language == "python":
        return SUITE_DIR / "python" / f"{fn.stem}.py"
    if language == "java":
        return build_suite_jar()
    raise ValueError(f"unknown language {language!r}; expected one of {LANGUAGES}")


def deploy_body(fn: SuiteFunction, language: str, tag: str = "") -> dict[str, object]:
    """The PUT /functions/{name} body, identical for graalvisor and the baseline.

    `tag` prefixes JS/Python sources with a one-line comment so that distinct trace functions
    never share parsed code on either platform; the jar is used as built.
    """
    path = source_path(fn, language)
    if language == "java":
        return file_upload(path, "java", entrypoint=fn.java_class)
    text = path.read_text(encoding="utf-8")
    if tag:
        text = ("// " if language == "js" else "# ") + f"trace function {tag}\n" + text
    return upload_body(language, text, entrypoint="main")
