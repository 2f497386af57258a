"""Deploy, describe, update, delete and invoke functions in all three languages."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from graalvisor.uploads import upload_body
from tests.support import Daemon, deploy, java_upload, js_upload, python_upload, zipped

HELLO_JS = "function main(p) { console.log('js says', p.name); return {greeting: `hello ${p.name}`}; }"
HELLO_PY = "def main(args):\n    print('py says', args['name'])\n    return {'greeting': 'hello ' + args['name']}\n"


def test_js_deploy_and_invoke(client: httpx.Client) -> None:
    deploy(client, "t-hello-js", js_upload(HELLO_JS))
    r = client.post("/invoke/t-hello-js", json={"name": "ada"})
    assert r.status_code == 200, r.text
    assert r.json() == {"greeting": "hello ada"}
    assert r.headers["x-start"] in ("warm", "isolate")
    timing = {name: float(dur.removeprefix("dur=")) for name, _, dur in
              (part.partition(";") for part in r.headers["server-timing"].split(", "))}
    assert list(timing) == ["queue", "load", "start", "run", "jvm", "worker", "ipc", "gateway"]
    assert all(ms >= 0 for ms in timing.values()), timing
    # The gateway's total holds every hop; the worker reported its own part (not left at 0).
    assert timing["gateway"] >= sum(ms for name, ms in timing.items() if name != "gateway") - 0.01, timing
    assert timing["worker"] > 0 and timing["ipc"] > 0, timing


def test_python_deploy_and_invoke(client: httpx.Client) -> None:
    deploy(client, "t-hello-py", python_upload(HELLO_PY))
    r = client.post("/invoke/t-hello-py", json={"name": "grace"})
    assert r.status_code == 200, r.text
    assert r.json() == {"greeting": "hello grace"}


def test_java_deploy_and_invoke(client: httpx.Client, hello_jar: bytes) -> None:
    deploy(client, "t-hello-java", java_upload(hello_jar, "t.Hello"))
    r = client.post("/invoke/t-hello-java", json={"name": "duke"})
    assert r.status_code == 200, r.text
    assert r.json() == {"greeting": "hello duke"}


def test_java_method_entrypoint(client: httpx.Client) -> None:
    from tests.support import build_jar

    jar = build_jar({"p/Calc.java": (
        "package p; import com.google.gson.JsonObject;\n"
        "public class Calc { private int calls;\n"
        "  public JsonObject add(JsonObject a) { calls++; JsonObject r = new JsonObject();\n"
        "    r.addProperty(\"sum\", a.get(\"a\").getAsInt() + a.get(\"b\").getAsInt());"
        "    r.addProperty(\"calls\", calls); return r; } }")})
    deploy(client, "t-calc", java_upload(jar, "p.Calc#add", isolation="invocation"))
    for _ in range(2):
        r = client.post("/invoke/t-calc", json={"a": 2, "b": 40})
        # A fresh handler instance per isolate: instance state never carries over.
        assert r.json() == {"sum": 42, "calls": 1}
        assert r.headers["x-start"] == "isolate"


def test_js_promise_is_awaited(client: httpx.Client) -> None:
    code = "async function main(p) { const v = await Promise.resolve(p.x * 2); return {v}; }"
    deploy(client, "t-async", js_upload(code))
    assert client.post("/invoke/t-async", json={"x": 21}).json() == {"v": 42}


def test_env_is_visible_the_way_each_language_expects(client: httpx.Client) -> None:
    js = "function main() { return {v: process.env.GREETING}; }"
    py = "import os\ndef main(args):\n    return {'v': os.environ.get('GREETING')}\n"
    for name, lang, code in (("t-env-js", "js", js), ("t-env-py", "python", py)):
        deploy(client, name, upload_body(lang, code, env={"GREETING": "hi"}))
        assert client.post(f"/invoke/{name}").json() == {"v": "hi"}


def test_zip_uploads(client: httpx.Client) -> None:
    js = zipped({
        "package.json": '{"main": "lib/app.js"}',
        "lib/app.js": "const u = require('./util'); exports.main = (p) => ({v: u.twice(p.n)});",
        "lib/util.js": "module.exports = { twice: (n) => n * 2 };",
    })
    body = upload_body("js", js)
    assert body["binary"] is True  # an archive travels as base64
    deploy(client, "t-zip-js", body)
    assert client.post("/invoke/t-zip-js", json={"n": 4}).json() == {"v": 8}

    py = zipped({
        "__main__.py": "from helpers.math import twice\ndef main(args):\n    return {'v': twice(args['n'])}\n",
        "helpers/__init__.py": "",
        "helpers/math.py": "def twice(n):\n    return 2 * n\n",
    })
    deploy(client, "t-zip-py", upload_body("python", py))
    assert client.post("/invoke/t-zip-py", json={"n": 5}).json() == {"v": 10}


def test_raw_body_upload(client: httpx.Client) -> None:
    r = client.put("/functions/t-raw", params={"language": "js"}, content=b"function main(){ return {raw: true}; }",
                   headers={"content-type": "application/javascript"})
    assert r.status_code == 201, r.text
    assert client.post("/invoke/t-raw").json() == {"raw": True}


def test_update_makes_a_new_version_and_invoke_sees_it(client: httpx.Client) -> None:
    assert deploy(client, "t-upd", js_upload("function main(){ return {v: 1}; }"))["version"] == 1
    assert client.post("/invoke/t-upd").json() == {"v": 1}
    assert deploy(client, "t-upd", python_upload("def main(a):\n    return {'v': 2}\n"), status=200)["version"] == 2
    assert client.post("/invoke/t-upd").json() == {"v": 2}
    info = client.get("/functions/t-upd").json()
    assert info["latest"] == 2
    assert [v["language"] for v in info["versions"]] == ["js", "python"]
    assert all(len(v["sha256"]) == 64 and v["size"] > 0 for v in info["versions"])


def test_list_and_delete(client: httpx.Client) -> None:
    deploy(client, "t-del", js_upload("function main(){return {}}"))
    names = [f["name"] for f in client.get("/functions").json()["functions"]]
    assert "t-del" in names
    assert client.delete("/functions/t-del").status_code == 200
    assert client.post("/invoke/t-del").status_code == 404
    assert client.get("/functions/t-del").status_code == 404
    assert client.delete("/functions/t-del").status_code == 404


def test_invocation_record_has_logs_and_timings(daemon: Daemon, client: httpx.Client, hello_jar: bytes) -> None:
    deploy(client, "t-log-js", js_upload(HELLO_JS))
    deploy(client, "t-log-py", python_upload(HELLO_PY))
    deploy(client, "t-log-java", java_upload(hello_jar, "t.Hello"))
    served: dict[str, dict[str, Any]] = {}
    for name, line in (("t-log-js", "js says ada"), ("t-log-py", "py says ada"), ("t-log-java", "java says ada")):
        r = client.post(f"/invoke/{name}", json={"name": "ada"})
        assert r.status_code == 200, r.text
        inv_id = r.headers["x-invocation-id"]
        record = client.get(f"/invocations/{inv_id}").json()
        assert record["status"] == "success"
        assert record["logs"] == [line]
        assert record["result"] == {"greeting": "hello ada"}
        assert record["start"] in ("warm", "isolate")
        assert record["run_ms"] > 0
        served[inv_id] = record
    # The recorder writes finished records to SQLite in batches: read them from the file itself.
    stored = _stored_invocations(daemon, set(served))
    for inv_id, record in served.items():
        row = stored[inv_id]
        assert row["function"] == f"{record['namespace']}/{record['function']}" and row["status"] == "success"
        assert json.loads(row["logs"]) == record["logs"]
        assert json.loads(row["result"]) == {"greeting": "hello ada"}
        assert row["run_ms"] == record["run_ms"]
        assert client.get(f"/invocations/{inv_id}").json() == record  # and the API serves them the same
    assert client.get("/invocations/nope").status_code == 404


def _stored_invocations(daemon: Daemon, ids: set[str], timeout_s: float = 30) -> dict[str, sqlite3.Row]:
    """The rows of ``ids`` in the daemon's SQLite file, once the recorder has written all of them."""
    db = sqlite3.connect(f"file:{daemon.data_dir / 'graalvisor.db'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            marks = ",".join("?" * len(ids))
            rows = {row["id"]: row for row in db.execute(f"SELECT * FROM invocations WHERE id IN ({marks})",
                                                         sorted(ids))}
            if len(rows) == len(ids) or time.monotonic() > deadline:
                assert set(rows) == ids, f"records never written to SQLite: {ids - set(rows)}"
                return rows
            time.sleep(0.1)
    finally:
        db.close()


def test_healthz_and_metrics(client: httpx.Client) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["runtime"]["optimizing"] is True, health["runtime"]
    assert health["runtime"]["java_version"].startswith("25")
    ready = [w for w in health["workers"] if w["ready"]]
    assert ready and all(w["pid"] and w["rss_bytes"] > 0 for w in ready), health["workers"]
    # Every worker's JVM has compiled something (at the least the Graal compiler, by C2).
    assert all(w["code_cache_bytes"] > 1_000_000 for w in ready), health["workers"]
    deploy(client, "t-metric", js_upload("function main(){return {}}"))
    assert client.post("/invoke/t-metric").status_code == 200
    text = client.get("/metrics").text
    assert 'graalvisor_invocations_total{function="t-metric",namespace="guest"' in text
    assert "graalvisor_worker_rss_bytes" in text
    assert "graalvisor_worker_code_cache_bytes" in text
    assert "graalvisor_invocation_seconds_bucket" in text


def _young_collections(client: httpx.Client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith('python_gc_collections_total{generation="0"}'):
            return float(line.split()[-1])
    raise AssertionError("no python_gc_collections_total in /metrics")


def test_warm_calls_leave_the_gateways_collector_idle(client: httpx.Client) -> None:
    # A warm call's objects are freed by their reference counts; with the collector's default
    # threshold (700 net new objects) 16 calls in flight made the gateway run young collections
    # on its event loop: 14 in this test's 800 calls.
    deploy(client, "t-gc", js_upload("function main(p){return {n: p.n}}"))
    for n in range(20):
        assert client.post("/invoke/t-gc", json={"n": n}).status_code == 200
    before = _young_collections(client)
    with ThreadPoolExecutor(16) as callers:
        answers = list(callers.map(lambda n: client.post("/invoke/t-gc", json={"n": n}).json(), range(800)))
    assert answers == [{"n": n} for n in range(800)]
    assert _young_collections(client) - before <= 2


def test_openapi_docs(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert "/invoke/{name}" in spec["paths"] and "/functions/{name}" in spec["paths"]


def test_big_params_and_results_cross_whole_in_every_guest_language(client: httpx.Client) -> None:
    # Params travel as the request frame's payload and a result over 64 kB is sent from Java's
    # buffer on its own: the same path as a 10-byte call, checked here end to end at 4-5 MB.
    text = "é" + "x" * (2 * 1024 * 1024) + "€"  # multi-byte characters at both ends of a long string
    echo = {"js": js_upload("function main(p) { return {echo: p.s, doubled: p.s + p.s}; }"),
            "python": python_upload("def main(args):\n    return {'echo': args['s'], 'doubled': args['s'] * 2}\n")}
    for language, upload in echo.items():
        deploy(client, f"t-big-{language}", upload)
        r = client.post(f"/invoke/t-big-{language}", json={"s": text})
        assert r.status_code == 200, r.text[:300]
        assert r.json() == {"echo": text, "doubled": text * 2}, language
        record = client.get(f"/invocations/{r.headers['x-invocation-id']}").json()
        assert record["status"] == "success" and record["result"]["echo"] == text


def test_isolation_invocation_gives_every_call_a_fresh_isolate_even_from_spares(client: httpx.Client) -> None:
    # Calls that each need a new isolate make the worker keep spares (made in the background,
    # code loaded, never called): state from one call must still never reach the next.
    counters = {"js": js_upload("let n = 0; function main(p) { n += 1; return {n}; }", isolation="invocation"),
                "python": python_upload("n = 0\ndef main(args):\n    global n\n    n += 1\n    return {'n': n}\n",
                                        isolation="invocation")}
    for language, upload in counters.items():
        deploy(client, f"t-fresh-{language}", upload)
        starts = []
        for _ in range(6):
            r = client.post(f"/invoke/t-fresh-{language}", json={})
            assert r.status_code == 200 and r.json() == {"n": 1}, (language, r.text)
            starts.append(r.headers["x-start"])
            time.sleep(0.3)  # time for the refiller to make a spare between calls
        assert starts == ["isolate"] * 6, (language, starts)


def test_jit_compiler_threads_go_before_the_calls_they_compile_for(daemon: Daemon) -> None:
    """As root, Java thread priorities are nice values: Truffle's compiler threads (MAX_PRIORITY)
    run at nice -5, the threads running guest calls at 0, so compilation is not starved by the
    interpreted calls it would speed up. Without root the JVM cannot raise priorities."""
    with daemon.client() as c:
        deploy(c, "prio-loop", js_upload("function main(p){ let s = 0; for (let i = 0; i < 2e6; i++) { s += i % 7; }"
                                         " return {s}; }"))
        pids = [w["pid"] for w in daemon.wait_healthy(workers=2)["workers"]]
        niceness: dict[str, set[int]] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert c.post("/invoke/prio-loop").json() == {"s": sum(i % 7 for i in range(2_000_000))}
            niceness = _thread_niceness(pids)
            if niceness.get("TruffleCompiler"):
                break
        expected = -5 if os.geteuid() == 0 else 0
        assert niceness.get("TruffleCompiler") == {expected}, niceness
        assert niceness.get("C2 CompilerThre", {expected}) <= {expected, expected + 1}, niceness
        assert 0 in niceness.get("other", set()), niceness


def _thread_niceness(pids: list[int]) -> dict[str, set[int]]:
    """Thread name prefix (15 characters, as the kernel keeps it) -> the nice values seen."""
    out: dict[str, set[int]] = {}
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                comm = (task / "comm").read_text().strip()
                nice = int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])
            except (OSError, ValueError, IndexError):
                continue
            key = comm if comm in ("TruffleCompiler", "C2 CompilerThre") else "other"
            out.setdefault(key, set()).add(nice)
    return out
