"""The functions the benchmarks deploy, as PUT /functions/{name} bodies."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from graalvisor.uploads import upload_body

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
LANGUAGES = ("js", "python", "java")
HELLO_PARAMS: dict[str, Any] = {"name": "ada"}
HELLO_RESULT: dict[str, Any] = {"greeting": "hello ada"}
JAVA_HELLO = "graalvisor.examples.Hello"


@cache
def _source(language: str) -> str:
    return (FUNCTIONS / {"js": "js/hello.js", "python": "python/hello.py"}[language]).read_text()


@cache
def _jar() -> bytes:
    return (FUNCTIONS / "java" / "examples.jar").read_bytes()


def hello_upload(language: str, isolation: str = "instance", variant: int | None = None) -> dict[str, Any]:
    """hello in ``language``; a ``variant`` makes the source distinct code (a module-level constant),
    so every variant is parsed and loaded on its own. Java variants share the jar (one class loader each)."""
    if language == "java":
        return upload_body("java", _jar(), entrypoint=JAVA_HELLO, isolation=isolation)
    code = _source(language)
    if variant is not None:
        constant = f"const VARIANT_{variant} = {variant};" if language == "js" else f"VARIANT_{variant} = {variant}"
        code = constant + "\n" + code
    return upload_body(language, code, entrypoint="main", isolation=isolation)


# A CPU-bound kernel: an integer sieve (typed array) and a float loop (Mandelbrot), both JIT-friendly.
# The same text runs in GraalJS (as a function) and in Node.js (with a timing harness appended).
KERNEL_JS = """\
function sieve(limit) {
  const composite = new Uint8Array(limit + 1);
  let count = 0;
  for (let i = 2; i <= limit; i++) {
    if (composite[i] === 0) {
      count++;
      for (let j = i * i; j <= limit; j += i) composite[j] = 1;
    }
  }
  return count;
}

function mandelbrot(size) {
  let inside = 0;
  for (let y = 0; y < size; y++) {
    const ci = (2.0 * y) / size - 1.0;
    for (let x = 0; x < size; x++) {
      const cr = (2.0 * x) / size - 1.5;
      let zr = 0.0, zi = 0.0, i = 0;
      while (i < 50 && zr * zr + zi * zi <= 4.0) {
        const t = zr * zr - zi * zi + cr;
        zi = 2.0 * zr * zi + ci;
        zr = t;
        i++;
      }
      if (i === 50) inside++;
    }
  }
  return inside;
}

function main(params) {
  const size = params.size || 800;
  return { primes: sieve(size * 2000), inside: mandelbrot(size) };
}
"""


def kernel_upload() -> dict[str, Any]:
    return upload_body("js", KERNEL_JS, entrypoint="main", isolation="instance")
