"""The suite computes the same answers in JS (node), Python (CPython) and Java (a JVM), through the
baseline's own instance hosts."""

from __future__ import annotations

import asyncio

from bench.baseline.instances import Instance, command
from bench.replay.suite import SUITE, source_path

SAME_KEYS = {"hello": ["greeting"], "html": ["size"], "bfs": ["reached", "max_depth"], "mst": ["weight"],
             "pagerank": ["top", "top_rank", "sum"], "compress": ["in", "ok"], "sha256": ["sha256"],
             "json": ["bytes", "groups", "top", "summary_bytes"], "matmul": ["trace", "sum"],
             "thumbnail": ["checksum"]}
SMALL = {"html": 30, "bfs": 300, "mst": 300, "pagerank": 300, "compress": 8, "sha256": 9, "json": 50,
         "matmul": 12, "thumbnail": 32}


async def run_all() -> dict[str, dict[str, dict[str, object]]]:
    out: dict[str, dict[str, dict[str, object]]] = {}
    for lang in ("js", "python", "java"):
        for fn in SUITE:
            entry = fn.java_class if lang == "java" else "main"
            inst = await Instance.start(fn.name, command(lang, source_path(fn, lang), entry))
            try:
                reply = await inst.invoke({"n": SMALL.get(fn.name, 1), "seed": 11})
            finally:
                await inst.stop()
            assert "result" in reply, f"{fn.name}/{lang}: {reply}"
            out.setdefault(fn.name, {})[lang] = reply["result"]  # type: ignore[assignment]
    return out


def test_same_results_in_every_language() -> None:
    results = asyncio.run(run_all())
    for name, keys in SAME_KEYS.items():
        by_lang = results[name]
        for key in keys:
            values = {lang: by_lang[lang][key] for lang in by_lang}
            assert len({repr(float(v)) if isinstance(v, int | float) and not isinstance(v, bool) else repr(v)
                        for v in values.values()}) == 1, f"{name}.{key}: {values}"
    assert results["compress"]["python"]["codec"] == "deflate" and results["compress"]["js"]["codec"] == "lzw"
