"""Worker crashes and gateway restarts lose no function and leave no caller hanging."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support import Daemon, deploy, java_upload, js_upload, python_upload, run_daemon


def test_kill_9_of_a_worker_gives_clear_errors_then_service_resumes(daemon: Daemon) -> None:
    with daemon.client() as c:
        deploy(c, "k-slow", js_upload(
            "function main(p){ const end = Date.now() + p.ms; let n = 0; do { n++; } while (Date.now() < end);"
            " return {n: n > 0}; }"))
        workers = daemon.wait_healthy(workers=2)["workers"]

    async def run() -> list[tuple[int, dict[str, object]]]:
        # A caller left hanging would get a ReadTimeout here, failing the test, instead of an answer.
        async with httpx.AsyncClient(base_url=daemon.url, timeout=60, auth=daemon.auth()) as c:
            calls = [asyncio.create_task(c.post("/invoke/k-slow", json={"ms": 3000})) for _ in range(6)]
            await asyncio.sleep(1.0)
            for w in workers:
                os.kill(w["pid"], signal.SIGKILL)
            responses = await asyncio.gather(*calls)
            return [(r.status_code, r.json()) for r in responses]

    results = asyncio.run(run())
    assert len(results) == 6
    lost = [body for status, body in results if status == 502]
    assert lost, results
    assert all("died" in str(body["error"]) for body in lost), lost
    assert all(status in (200, 502, 503) for status, _ in results), results

    health = daemon.wait_healthy(workers=2)
    assert {w["pid"] for w in health["workers"]}.isdisjoint({w["pid"] for w in workers})
    with daemon.client() as c:
        r = c.post("/invoke/k-slow", json={"ms": 1})
        assert r.status_code == 200 and r.json() == {"n": True}
        inv = c.get(f"/invocations/{r.headers['x-invocation-id']}").json()
        assert inv["status"] == "success"


def test_restart_keeps_every_function(data_root: Path, hello_jar: bytes) -> None:
    data_dir = data_root / "restart"
    # No snapshots: this test is about the registry, and a base image would only cost CPU.
    with run_daemon(data_dir, workers=1, extra=["--no-snapshots"]) as d, d.client() as c:
        for version, v in enumerate(("js", "js2"), start=1):
            reply = deploy(c, "r-js", js_upload(f"function main(){{return {{v: '{v}'}}}}"),
                           status=201 if version == 1 else 200)
            assert reply["version"] == version
        deploy(c, "r-java", java_upload(hello_jar, "t.Hello"))
    with run_daemon(data_dir, workers=1, extra=["--no-snapshots"]) as d, d.client() as c:
        names = {f["name"]: f["version"] for f in c.get("/functions").json()["functions"]}
        assert names == {"r-js": 2, "r-java": 1}
        assert c.post("/invoke/r-js").json() == {"v": "js2"}
        assert c.post("/invoke/r-java", json={"name": "x"}).json() == {"greeting": "hello x"}


def test_memory_budget_evicts_idle_versions_and_loses_none(data_root: Path, hello_jar: bytes) -> None:
    """A budget the platform can never meet: idle versions are unloaded, least recently used
    first, the member stays, and every function still answers (it is loaded again)."""
    names = [f"m-js{i}" for i in range(3)]
    with run_daemon(data_root / "budget", workers=1, extra=["--no-snapshots", "--memory-budget-mb", "1"]) as d, \
            d.client() as c:
        for i, name in enumerate(names):
            deploy(c, name, js_upload(f"function main(p){{ return {{i: {i}, x: p.x}}; }}"))
        deploy(c, "m-java", java_upload(hello_jar, "t.Hello"))
        for i, name in enumerate(names):
            assert c.post(f"/invoke/{name}", json={"x": i}).json() == {"i": i, "x": i}
        assert c.post("/invoke/m-java", json={"name": "a"}).json() == {"greeting": "hello a"}
        pid = d.wait_healthy(workers=1)["workers"][0]["pid"]
        health: dict[str, Any] = {}
        for _ in range(60):  # a check every 2 s evicts a quarter of the idle versions
            health = c.get("/healthz").json()
            if health["workers"][0]["functions_loaded"] == 0:
                break
            time.sleep(0.5)
        memory = health["memory"]
        assert health["workers"][0]["functions_loaded"] == 0, health
        assert memory["over"] is True and int(memory["pss_bytes"]) > 0, memory
        # Each of the four went at least once; a check that came between a deploy and the first
        # call evicted that version early, and the call loaded it again (so more than four).
        assert memory["evicted_versions"] >= 4, memory
        for _ in range(20):  # the worker collected and gave back its heap after an eviction
            if int(c.get("/healthz").json()["memory"]["shrinks"]) >= 1:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"no worker shrank: {c.get('/healthz').json()['memory']}")
        workers = c.get("/healthz").json()["workers"]
        assert [w["pid"] for w in workers] == [pid] and workers[0]["functions_loaded"] == 0
        for i, name in enumerate(names):
            assert c.post(f"/invoke/{name}", json={"x": -i}).json() == {"i": i, "x": -i}
        assert c.post("/invoke/m-java", json={"name": "b"}).json() == {"greeting": "hello b"}
        assert c.get("/functions").json()["functions"] and len(c.get("/functions").json()["functions"]) == 4


def test_a_deploy_checks_the_code_and_leaves_no_isolate_behind(data_root: Path, hello_jar: bytes) -> None:
    """Most functions are called rarely: the deploy-time check loads a version and unloads it
    again, so only called versions hold isolates; the same code deployed again keeps its loaded
    copy, and code that does not load is refused with nothing left loaded."""
    def loaded(c: httpx.Client) -> int:
        return sum(w["functions_loaded"] for w in c.get("/healthz").json()["workers"])

    with run_daemon(data_root / "unloaded", workers=1, extra=["--no-snapshots"]) as d, d.client() as c:
        d.wait_healthy(workers=1)
        js = js_upload("function main(p){ return {js: p.x}; }")
        deploy(c, "u-js", js)
        deploy(c, "u-py", python_upload("def main(a):\n    return {'py': a['x']}\n"))
        deploy(c, "u-java", java_upload(hello_jar, "t.Hello"))
        assert loaded(c) == 0
        assert c.post("/invoke/u-js", json={"x": 1}).json() == {"js": 1}
        assert c.post("/invoke/u-py", json={"x": 2}).json() == {"py": 2}
        assert c.post("/invoke/u-java", json={"name": "a"}).json() == {"greeting": "hello a"}
        assert loaded(c) == 3
        deploy(c, "u-js", js, status=200)  # the same code: the version a call loaded stays
        assert loaded(c) == 3
        r = c.put("/functions/u-bad", json=python_upload("def main(a):\n    return {"))
        assert r.status_code == 400 and "does not load" in r.json()["error"], r.text
        assert loaded(c) == 3
        assert c.post("/invoke/u-js", json={"x": 3}).json() == {"js": 3}
