"""Deploy, describe, update, delete and invoke functions in all three languages."""

from __future__ import annotations

import base64
import io
import time
import zipfile

import httpx

from tests.support import java_upload

HELLO_JS = "function main(p) { console.log('js says', p.name); return {greeting: `hello ${p.name}`}; }"
HELLO_PY = "def main(args):\n    print('py says', args['name'])\n    return {'greeting': 'hello ' + args['name']}\n"


def test_js_deploy_and_invoke(client: httpx.Client) -> None:
    r = client.put("/functions/t-hello-js", json={"language": "js", "code": HELLO_JS})
    assert r.status_code in (200, 201), r.text
    r = client.post("/invoke/t-hello-js", json={"name": "ada"})
    assert r.status_code == 200, r.text
    assert r.json() == {"greeting": "hello ada"}
    assert r.headers["x-start"] in ("warm", "isolate")
    assert [part.split(";")[0] for part in r.headers["server-timing"].split(", ")] == ["queue", "load", "start", "run"]


def test_python_deploy_and_invoke(client: httpx.Client) -> None:
    r = client.put("/functions/t-hello-py", json={"language": "python", "code": HELLO_PY})
    assert r.status_code in (200, 201), r.text
    r = client.post("/invoke/t-hello-py", json={"name": "grace"})
    assert r.status_code == 200, r.text
    assert r.json() == {"greeting": "hello grace"}


def test_java_deploy_and_invoke(client: httpx.Client, hello_jar: bytes) -> None:
    r = client.put("/functions/t-hello-java", json=java_upload(hello_jar, "t.Hello"))
    assert r.status_code in (200, 201), r.text
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
    r = client.put("/functions/t-calc", json=java_upload(jar, "p.Calc#add", isolation="invocation"))
    assert r.status_code in (200, 201), r.text
    for _ in range(2):
        r = client.post("/invoke/t-calc", json={"a": 2, "b": 40})
        # A fresh handler instance per isolate: instance state never carries over.
        assert r.json() == {"sum": 42, "calls": 1}
        assert r.headers["x-start"] == "isolate"


def test_js_promise_is_awaited(client: httpx.Client) -> None:
    code = "async function main(p) { const v = await Promise.resolve(p.x * 2); return {v}; }"
    assert client.put("/functions/t-async", json={"language": "js", "code": code}).is_success
    assert client.post("/invoke/t-async", json={"x": 21}).json() == {"v": 42}


def test_env_is_visible_the_way_each_language_expects(client: httpx.Client) -> None:
    js = "function main() { return {v: process.env.GREETING}; }"
    py = "import os\ndef main(args):\n    return {'v': os.environ.get('GREETING')}\n"
    for name, lang, code in (("t-env-js", "js", js), ("t-env-py", "python", py)):
        r = client.put(f"/functions/{name}", json={"language": lang, "code": code, "env": {"GREETING": "hi"}})
        assert r.is_success, r.text
        assert client.post(f"/invoke/{name}").json() == {"v": "hi"}


def test_zip_uploads(client: httpx.Client) -> None:
    def zipped(files: dict[str, str]) -> str:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for path, text in files.items():
                z.writestr(path, text)
        return base64.b64encode(buf.getvalue()).decode()

    js = zipped({
        "package.json": '{"main": "lib/app.js"}',
        "lib/app.js": "const u = require('./util'); exports.main = (p) => ({v: u.twice(p.n)});",
        "lib/util.js": "module.exports = { twice: (n) => n * 2 };",
    })
    r = client.put("/functions/t-zip-js", json={"language": "js", "code": js, "binary": True})
    assert r.is_success, r.text
    assert client.post("/invoke/t-zip-js", json={"n": 4}).json() == {"v": 8}

    py = zipped({
        "__main__.py": "from helpers.math import twice\ndef main(args):\n    return {'v': twice(args['n'])}\n",
        "helpers/__init__.py": "",
        "helpers/math.py": "def twice(n):\n    return 2 * n\n",
    })
    r = client.put("/functions/t-zip-py", json={"language": "python", "code": py, "binary": True})
    assert r.is_success, r.text
    assert client.post("/invoke/t-zip-py", json={"n": 5}).json() == {"v": 10}


def test_raw_body_upload(client: httpx.Client) -> None:
    r = client.put("/functions/t-raw", params={"language": "js"}, content=b"function main(){ return {raw: true}; }",
                   headers={"content-type": "application/javascript"})
    assert r.status_code in (200, 201), r.text
    assert client.post("/invoke/t-raw").json() == {"raw": True}


def test_update_makes_a_new_version_and_invoke_sees_it(client: httpx.Client) -> None:
    client.delete("/functions/t-upd")
    r1 = client.put("/functions/t-upd", json={"language": "js", "code": "function main(){ return {v: 1}; }"})
    assert r1.status_code == 201 and r1.json()["version"] == 1
    assert client.post("/invoke/t-upd").json() == {"v": 1}
    r2 = client.put("/functions/t-upd", json={"language": "python", "code": "def main(a):\n    return {'v': 2}\n"})
    assert r2.status_code == 200 and r2.json()["version"] == 2
    assert client.post("/invoke/t-upd").json() == {"v": 2}
    info = client.get("/functions/t-upd").json()
    assert info["latest"] == 2
    assert [v["language"] for v in info["versions"]] == ["js", "python"]
    assert all(len(v["sha256"]) == 64 and v["size"] > 0 for v in info["versions"])


def test_list_and_delete(client: httpx.Client) -> None:
    assert client.put("/functions/t-del", json={"language": "js", "code": "function main(){return {}}"}).is_success
    names = [f["name"] for f in client.get("/functions").json()["functions"]]
    assert "t-del" in names
    assert client.delete("/functions/t-del").status_code == 200
    assert client.post("/invoke/t-del").status_code == 404
    assert client.get("/functions/t-del").status_code == 404
    assert client.delete("/functions/t-del").status_code == 404


def test_invocation_record_has_logs_and_timings(client: httpx.Client, hello_jar: bytes) -> None:
    client.put("/functions/t-log-js", json={"language": "js", "code": HELLO_JS})
    client.put("/functions/t-log-py", json={"language": "python", "code": HELLO_PY})
    client.put("/functions/t-log-java", json=java_upload(hello_jar, "t.Hello"))
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
    time.sleep(0.3)  # let the recorder flush to SQLite; the record must read the same from there
    stored = client.get(f"/invocations/{inv_id}").json()
    assert stored["logs"] == ["java says ada"]
    assert client.get("/invocations/nope").status_code == 404


def test_healthz_and_metrics(client: httpx.Client) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["runtime"]["optimizing"] is True, health["runtime"]
    assert health["runtime"]["java_version"].startswith("25")
    assert all(w["pid"] and w["rss_bytes"] > 0 for w in health["workers"] if w["ready"])
    client.put("/functions/t-metric", json={"language": "js", "code": "function main(){return {}}"})
    client.post("/invoke/t-metric")
    text = client.get("/metrics").text
    assert 'graalvisor_invocations_total{function="t-metric"' in text
    assert "graalvisor_worker_rss_bytes" in text
    assert "graalvisor_invocation_seconds_bucket" in text


def test_openapi_docs(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert "/invoke/{name}" in spec["paths"] and "/functions/{name}" in spec["paths"]
