"""Every bad input gets the right status and a JSON error a user can act on."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from tests.support import build_jar, deploy, java_upload, js_upload, python_upload

OK_JS = "function main(){return {}}"


def _error(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body["error"], str) and body["error"], body
    return dict(body)


def test_unknown_function_is_404(client: httpx.Client) -> None:
    body = _error(client.post("/invoke/no-such-fn", json={}), 404)
    assert "no-such-fn" in str(body["error"])


def test_invoke_paths_the_front_leaves_to_the_app_answer_as_before(client: httpx.Client) -> None:
    # The invoke front (api/front.py) takes POST /invoke/{name} only; the app's router answers the rest.
    deploy(client, "t-e-front", js_upload(OK_JS))
    _error(client.get("/invoke/t-e-front"), 405)
    assert client.get("/invoke/t-e-front").headers["allow"] == "POST"
    assert "no such route" in str(_error(client.post("/invoke/t-e-front/more", json={}), 404)["error"])
    assert "no such route" in str(_error(client.post("/invoke/", json={}), 404)["error"])
    assert client.post("/invoke/t-e-front", json={}).json() == {}


def test_params_not_json_is_400(client: httpx.Client) -> None:
    deploy(client, "t-e-json", js_upload(OK_JS))
    _error(client.post("/invoke/t-e-json", content=b"{not json"), 400)
    _error(client.post("/invoke/t-e-json", content=b"[1, 2]"), 400)


def test_invalid_uploads_are_400(client: httpx.Client) -> None:
    _error(client.put("/functions/t-e", content=b"{oops", headers={"content-type": "application/json"}), 400)
    _error(client.put("/functions/t-e", json={"language": "cobol", "code": "x"}), 400)
    _error(client.put("/functions/t-e", json={"language": "js"}), 400)
    _error(client.put("/functions/bad name!", json={"language": "js", "code": "function main(){}"}), 400)
    _error(client.put("/functions/t-e", json={"language": "js", "code": "!!", "binary": True}), 400)
    _error(client.put("/functions/t-e", content=b"function main(){}"), 400)  # raw body without ?language
    _error(client.put("/functions/t-e", json={"language": "java", "code": "class X {}"}), 400)
    _error(client.put("/functions/t-e", json={"language": "js", "code": "x", "timeout_ms": -1}), 400)
    for bad in ([], [1], "n=1", [{"n": i} for i in range(17)]):  # warm-up: an object, or 1 to 16 of them
        body = _error(client.put("/functions/t-e", json={"language": "js", "code": OK_JS, "warmup": {"params": bad}}),
                      400)
        assert "warmup.params" in str(body["error"]), body
    assert client.get("/functions/t-e").status_code == 404  # nothing was registered


def test_syntax_errors_name_the_line(client: httpx.Client) -> None:
    body = _error(client.put("/functions/t-syn-js", json={
        "language": "js", "code": "function main(p) {\n  return {a: 1}\n  x y\n}"}), 400)
    assert body["line"] == 3 and body["type"] == "SyntaxError"
    body = _error(client.put("/functions/t-syn-py", json={
        "language": "python", "code": "def main(args):\n    return {\n\ndef broken(:\n"}), 400)
    assert body["type"] == "SyntaxError" and isinstance(body["line"], int) and body["line"] >= 2
    assert client.get("/functions/t-syn-js").status_code == 404


def test_missing_entrypoint_is_400(client: httpx.Client, hello_jar: bytes) -> None:
    body = _error(client.put("/functions/t-noentry", json={"language": "js", "code": "function foo(){}"}), 400)
    assert "main" in str(body["error"])
    body = _error(client.put("/functions/t-noentry", json={
        "language": "python", "code": "def main(a):\n    return {}\n", "entrypoint": "handler"}), 400)
    assert "handler" in str(body["error"])
    body = _error(client.put("/functions/t-noentry", json=java_upload(hello_jar, "t.Missing")), 400)
    assert "t.Missing" in str(body["error"])
    _error(client.put("/functions/t-noentry", json=java_upload(hello_jar, "main")), 400)


def test_python_code_is_checked_at_deploy_without_running_it(client: httpx.Client) -> None:
    """A Python deploy is parsed, not loaded (domain.pycheck): a missing module is a 400 naming
    the line; what only running the module shows is the first call's error, every time, and a
    fixed upload answers."""
    body = _error(client.put("/functions/t-nomod", json=python_upload(
        "import json\nimport numpy\n\ndef main(a):\n    return {}\n")), 400)
    assert body["type"] == "ModuleNotFoundError" and body["line"] == 2 and "numpy" in str(body["error"])
    assert client.get("/functions/t-nomod").status_code == 404
    deploy(client, "t-initfail", python_upload("raise ValueError('no config')\n\ndef main(a):\n    return {}\n"))
    for _ in range(2):
        body = _error(client.post("/invoke/t-initfail", json={}), 502)
        assert "does not load" in str(body["error"]) and "no config" in str(body["error"]), body
    deploy(client, "t-initfail", python_upload("def main(a):\n    return {'ok': True}\n"), status=200)
    assert client.post("/invoke/t-initfail", json={}).json() == {"ok": True}
    # Python 3.12 syntax (GraalPy 25's), which the gateway's 3.11 parser refuses: a worker judges it
    deploy(client, "t-py312", python_upload("def main(a):\n    return {'s': f\"{'x' + \"y\"}\"}\n"))
    assert client.post("/invoke/t-py312", json={}).json() == {"s": "xy"}


def test_request_over_the_limit_is_413(client: httpx.Client) -> None:
    deploy(client, "t-e-big", js_upload(OK_JS))
    big = b'{"x": "' + b"a" * (7 * 1024 * 1024) + b'"}'
    _error(client.post("/invoke/t-e-big", content=big), 413)

    def chunks(parts: list[bytes]) -> Iterator[bytes]:
        yield from parts  # sent chunked: no Content-Length to refuse it by

    mb = b"a" * (1024 * 1024)
    _error(client.post("/invoke/t-e-big", content=chunks([b'{"x": "', *[mb] * 7, b'"}'])), 413)
    # Under the limit, a body in many chunks is the params it spells
    deploy(client, "t-e-echo", js_upload("function main(p){return {n: (p.x || '').length, y: p.y}}"))
    ok = client.post("/invoke/t-e-echo", content=chunks([b'{"x"', b': ', b'"' + mb, b'", "y": 2}']))
    assert ok.status_code == 200 and ok.json() == {"n": len(mb), "y": 2}, ok.text
    assert client.post("/invoke/t-e-echo").json() == {"n": 0}  # no body at all: {}


def test_unknown_fresh_worker_kind_is_400(client: httpx.Client) -> None:
    deploy(client, "t-e-fresh", js_upload(OK_JS))
    body = _error(client.post("/invoke/t-e-fresh?worker=warm", json={}), 400)
    assert "worker must be one of boot, snapshot" in str(body["error"])


def test_function_error_is_502_with_message_and_type(client: httpx.Client) -> None:
    deploy(client, "t-throw-js", js_upload("function main(p) {\n  throw new TypeError('bad input: ' + p.x);\n}"))
    body = _error(client.post("/invoke/t-throw-js", json={"x": 7}), 502)
    assert body["error"] == "bad input: 7" and body["type"] == "TypeError" and body["line"] == 2
    deploy(client, "t-throw-py", python_upload("def main(args):\n    raise ValueError('nope')\n"))
    body = _error(client.post("/invoke/t-throw-py"), 502)
    assert body["error"] == "nope" and body["type"] == "ValueError" and body["line"] == 2
    jar = build_jar({"t/Boom.java": (
        "package t; import com.google.gson.JsonObject;\n"
        "public class Boom { public static JsonObject main(JsonObject a) {\n"
        "  throw new IllegalStateException(\"java nope\"); } }")})
    deploy(client, "t-throw-java", java_upload(jar, "t.Boom"))
    body = _error(client.post("/invoke/t-throw-java"), 502)
    assert body["error"] == "java nope" and body["type"] == "java.lang.IllegalStateException"
    # A failed invocation is recorded too.
    inv = client.get(f"/invocations/{body['invocation_id']}").json()
    assert inv["status"] == "error" and inv["error"]["type"] == "java.lang.IllegalStateException"


def test_timeout_is_504_and_the_function_keeps_working(client: httpx.Client) -> None:
    deploy(client, "t-spin", js_upload("function main(p) { if (p.spin) { while (true) {} } return {ok: true}; }",
                                       timeout_ms=500))
    body = _error(client.post("/invoke/t-spin", json={"spin": True}), 504)
    assert "500 ms" in str(body["error"])
    assert client.post("/invoke/t-spin", json={}).json() == {"ok": True}
    jar = build_jar({"t/Sleepy.java": (
        "package t; import com.google.gson.JsonObject;\n"
        "public class Sleepy { public static JsonObject main(JsonObject a) throws Exception {\n"
        "  Thread.sleep(60_000); return new JsonObject(); } }")})
    deploy(client, "t-sleepy", java_upload(jar, "t.Sleepy", timeout_ms=500))
    _error(client.post("/invoke/t-sleepy"), 504)


def test_exit_is_a_clear_error_and_the_worker_survives(client: httpx.Client) -> None:
    deploy(client, "t-exit-ok", js_upload("function main(){ return {alive: true}; }"))
    deploy(client, "t-exit-py", python_upload("import sys\ndef main(args):\n    sys.exit(3)\n"))
    body = _error(client.post("/invoke/t-exit-py"), 502)
    assert "exit" in str(body["error"])
    deploy(client, "t-exit-js", js_upload("function main(){ quit(); }"))
    _error(client.post("/invoke/t-exit-js"), 502)
    workers = client.get("/healthz").json()["workers"]
    # The guest's exit ended its own call only: the same workers still serve other functions.
    r = client.post("/invoke/t-exit-ok")
    assert r.status_code == 200 and r.json() == {"alive": True}, r.text
    assert [w["pid"] for w in client.get("/healthz").json()["workers"]] == [w["pid"] for w in workers]


def test_guests_have_no_host_or_file_access(client: httpx.Client) -> None:
    deploy(client, "t-io-py", python_upload("def main(args):\n    return {'x': open('/etc/hostname').read()}\n"))
    body = _error(client.post("/invoke/t-io-py"), 502)
    assert body["type"] in ("PermissionError", "OSError")
    deploy(client, "t-io-js", js_upload("function main(){ return {java: typeof Java}; }"))
    assert client.post("/invoke/t-io-js").json() == {"java": "undefined"}
    # A single file has require for built-ins, as on OpenWhisk's Node.js runtime: fs is refused by name.
    deploy(client, "t-fs-js", js_upload("function main(){ return {r: require('fs').readFileSync('/etc/hostname')}; }"))
    body = _error(client.post("/invoke/t-fs-js"), 502)
    assert "'fs'" in body["error"] and "no file system" in body["error"]
    deploy(client, "t-req-js", js_upload(
        "const { EventEmitter } = require('events');\n"
        "function main(){ const e = new EventEmitter(); let got; e.on('x', (v) => { got = v; }); e.emit('x', 7);"
        " return {got, util: require('node:util').format('%s-%d', 'a', 1)}; }"))
    assert client.post("/invoke/t-req-js").json() == {"got": 7, "util": "a-1"}
    deploy(client, "t-npm-js", js_upload("function main(){ return require('left-pad'); }"))
    body = _error(client.post("/invoke/t-npm-js"), 502)
    assert "left-pad" in body["error"] and "upload a zip" in body["error"]
    deploy(client, "t-proc-py", python_upload(
        "import subprocess\ndef main(a):\n    return {'o': subprocess.check_output(['id']).decode()}\n"))
    _error(client.post("/invoke/t-proc-py"), 502)


def test_unknown_route_is_json_404(client: httpx.Client) -> None:
    _error(client.get("/nowhere"), 404)
