"""The OpenWhisk runtime contract of JS and Python functions: timers and when a call ends, require
inside a zip (node_modules, exports, built-ins), thrown values, process.exit, per-call env."""

from __future__ import annotations

import json
from typing import Any

import httpx

from graalvisor.uploads import upload_body
from tests.support import deploy, js_upload, python_upload, zipped


def _error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    body: dict[str, Any] = r.json()
    assert isinstance(body["error"], str) and body["error"], body
    return body


def _ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


# -- the event loop


def test_set_timeout_settles_a_promise(client: httpx.Client) -> None:
    deploy(client, "t-rt-timeout", js_upload(
        "function main(p) { return new Promise((resolve) => setTimeout((a, b) => resolve({v: a + b}), 20, p.x, 1)); }"))
    assert _ok(client.post("/invoke/t-rt-timeout", json={"x": 41})) == {"v": 42}


def test_set_interval_until_cleared(client: httpx.Client) -> None:
    deploy(client, "t-rt-interval", js_upload("""
        async function main() {
          let ticks = 0, afterClear = 0, cleared = false;
          await new Promise((resolve) => {
            const i = setInterval(() => {
              if (cleared) { afterClear++; return; }
              if (++ticks === 3) { clearInterval(i); cleared = true; setTimeout(resolve, 30); }
            }, 5);
          });
          return {ticks, afterClear};
        }"""))
    assert _ok(client.post("/invoke/t-rt-interval")) == {"ticks": 3, "afterClear": 0}


def test_ticks_microtasks_timers_and_immediates_run_in_nodes_order(client: httpx.Client) -> None:
    deploy(client, "t-rt-order", js_upload("""
        function main() {
          const log = [];
          return new Promise((resolve) => {
            setImmediate(() => { log.push('immediate'); resolve({log}); });
            queueMicrotask(() => log.push('microtask'));
            process.nextTick(() => log.push('tick'));
            Promise.resolve().then(() => {
              log.push('promise');
              process.nextTick(() => log.push('tick from a promise'));
              Promise.resolve().then(() => log.push('promise from a promise'));
            });
            log.push('sync');
          });
        }"""))
    # What Node 20 prints for the same code.
    assert _ok(client.post("/invoke/t-rt-order"))["log"] == [
        "sync", "tick", "microtask", "promise", "promise from a promise", "tick from a promise", "immediate"]


def test_timeout_objects_behave_like_nodes(client: httpx.Client) -> None:
    deploy(client, "t-rt-handle", js_upload("""
        async function main() {
          const t = setTimeout(() => { throw new Error('cleared by number: must not fire'); }, 5);
          const facts = [typeof t, t.hasRef(), t.unref() === t, t.hasRef(), t.ref().hasRef(), t.refresh() === t];
          clearTimeout(+t);
          const u = setTimeout(() => { throw new Error('cleared by object: must not fire'); }, 5);
          clearTimeout(u);
          const i = setImmediate(() => { throw new Error('cleared immediate: must not fire'); });
          clearImmediate(i);
          await new Promise((resolve) => setTimeout(resolve, 30));
          return {facts};
        }"""))
    assert _ok(client.post("/invoke/t-rt-handle")) == {"facts": ["object", True, True, False, True, True]}


def test_timers_pending_when_a_call_ends_never_fire_later(client: httpx.Client) -> None:
    deploy(client, "t-rt-pending", js_upload("""
        const isolate = Math.random();
        let fired = 0;
        function main(p) {
          if (p.arm) setTimeout(() => { fired++; }, 20);
          return new Promise((resolve) => setTimeout(() => resolve({isolate, fired}), p.wait));
        }"""))
    # Control: a timer the call waits past fires within it.
    assert _ok(client.post("/invoke/t-rt-pending", json={"arm": True, "wait": 200}))["fired"] >= 1
    same_isolate = 0
    for _ in range(6):
        armed = _ok(client.post("/invoke/t-rt-pending", json={"arm": True, "wait": 0}))
        later = _ok(client.post("/invoke/t-rt-pending", json={"wait": 200}))
        if later["isolate"] == armed["isolate"]:
            same_isolate += 1
            assert later["fired"] == armed["fired"], "a timer left pending by the previous call fired in this one"
    assert same_isolate > 0, "the calls never reused an isolate: nothing was checked"


def test_a_call_waiting_on_a_long_timer_times_out(client: httpx.Client) -> None:
    deploy(client, "t-rt-long", js_upload(
        "function main(p) { return new Promise((r) => setTimeout(() => r({late: true}), p.ms)); }", timeout_ms=500))
    body = _error(client.post("/invoke/t-rt-long", json={"ms": 60_000}), 504)
    assert "500 ms" in body["error"]
    assert _ok(client.post("/invoke/t-rt-long", json={"ms": 1})) == {"late": True}


def test_a_promise_that_can_never_settle_fails_at_once(client: httpx.Client) -> None:
    deploy(client, "t-rt-never", js_upload("function main() { return new Promise(() => {}); }"))
    body = _error(client.post("/invoke/t-rt-never"), 502)
    assert "never settled" in body["error"]


def test_an_error_thrown_by_a_timer_fails_the_call(client: httpx.Client) -> None:
    deploy(client, "t-rt-throws", js_upload(
        "function main() { setTimeout(() => { throw new TypeError('from a timer'); }, 1);"
        " return new Promise((r) => setTimeout(r, 10000)); }"))
    body = _error(client.post("/invoke/t-rt-throws"), 502)
    assert body["error"] == "from a timer" and body["type"] == "TypeError"


# -- require inside a zip


PACKAGES: dict[str, str | bytes] = {
    "package.json": '{"main": "app.js"}',
    "app.js": """
        const path = require('node:path');
        exports.main = () => ({
          main: require('with-main'),
          exports: require('conditional'),
          subpath: require('conditional/feature'),
          pattern: require('conditional/tools/hammer'),
          scoped: require('@acme/widget'),
          scopedSub: require('@acme/widget/lib/extra'),
          nested: require('with-main/uses-dep'),
          topDep: require('dep'),
          json: require('./config.json'),
          path: path.join('/a/b', '../c', 'd.js'),
        });""",
    "config.json": '{"answer": 42}',
    "node_modules/with-main/package.json": '{"name": "with-main", "main": "lib/entry"}',
    "node_modules/with-main/lib/entry.js": "module.exports = 'with-main:' + require('../uses-dep');",
    "node_modules/with-main/uses-dep.js": "module.exports = require('dep');",
    "node_modules/with-main/node_modules/dep/index.js": "module.exports = 'nested dep';",
    "node_modules/dep/index.js": "module.exports = 'top dep';",
    "node_modules/conditional/package.json": json.dumps({
        "name": "conditional", "main": "not-this.js",
        "exports": {
            ".": {"import": "./esm.mjs", "node": {"require": "./cjs.js", "default": "./node.js"}, "default": "./x.js"},
            "./feature": ["not-a-relative-target", {"require": "./feature.js"}],
            "./tools/*": "./src/tools/*.js",
        }}),
    "node_modules/conditional/cjs.js": "module.exports = 'exports: node + require';",
    "node_modules/conditional/not-this.js": "module.exports = 'main must lose to exports';",
    "node_modules/conditional/feature.js": "module.exports = 'exports subpath';",
    "node_modules/conditional/src/tools/hammer.js": "module.exports = 'exports pattern';",
    "node_modules/@acme/widget/package.json": '{"name": "@acme/widget"}',
    "node_modules/@acme/widget/index.js": "module.exports = 'scoped';",
    "node_modules/@acme/widget/lib/extra.js": "module.exports = 'scoped subpath';",
}


def test_require_resolves_node_modules_like_node(client: httpx.Client) -> None:
    deploy(client, "t-rt-modules", upload_body("js", zipped(PACKAGES)))
    # The same tree under Node 20 gives this.
    assert _ok(client.post("/invoke/t-rt-modules")) == {
        "main": "with-main:nested dep", "exports": "exports: node + require", "subpath": "exports subpath",
        "pattern": "exports pattern", "scoped": "scoped", "scopedSub": "scoped subpath", "nested": "nested dep",
        "topDep": "top dep", "json": {"answer": 42}, "path": "/a/c/d.js"}


def test_require_cycles_see_partial_exports(client: httpx.Client) -> None:
    deploy(client, "t-rt-cycle", upload_body("js", zipped({
        "index.js": "const a = require('./a'); exports.main = () => ({a});",
        "a.js": "exports.early = 1; const b = require('./b'); exports.late = 2; exports.bSaw = b.saw;",
        "b.js": "exports.saw = Object.keys(require('./a'));",
    })))
    assert _ok(client.post("/invoke/t-rt-cycle")) == {"a": {"early": 1, "late": 2, "bSaw": ["early"]}}


def test_not_exported_and_missing_modules_are_clear_errors(client: httpx.Client) -> None:
    deploy(client, "t-rt-missing", upload_body("js", zipped({
        "index.js": "exports.main = (p) => ({m: require(p.name)});",
        **{k: v for k, v in PACKAGES.items() if k.startswith("node_modules/conditional/")},
    })))
    body = _error(client.post("/invoke/t-rt-missing", json={"name": "conditional/not-this.js"}), 502)
    assert "not defined by \"exports\"" in body["error"]
    body = _error(client.post("/invoke/t-rt-missing", json={"name": "left-pad"}), 502)
    assert "Cannot find module 'left-pad'" in body["error"]


def test_node_builtins_are_refused_by_name_or_provided(client: httpx.Client) -> None:
    body = _error(client.put("/functions/t-rt-fs", json=upload_body("js", zipped({
        "index.js": "const fs = require('fs'); exports.main = () => ({});"}))), 400)
    assert "'fs'" in body["error"] and "file system" in body["error"]
    deploy(client, "t-rt-builtin", upload_body("js", zipped({
        "index.js": "exports.main = (p) => ({m: Object.keys(require(p.name)).length > 0});"})))
    for name, module in (("node:fs", "fs"), ("child_process", "child_process"), ("http", "http")):
        body = _error(client.post("/invoke/t-rt-builtin", json={"name": name}), 502)
        assert f"'{module}'" in body["error"] and "sandbox" in body["error"], body
    deploy(client, "t-rt-events", upload_body("js", zipped({"index.js": """
        const EventEmitter = require('events');
        const util = require('util');
        exports.main = async () => {
          const e = new EventEmitter(), got = [];
          e.on('x', (v) => got.push(v));
          e.once('x', (v) => got.push('once ' + v));
          e.emit('x', 1); e.emit('x', 2);
          const later = util.promisify((ms, cb) => setTimeout(() => cb(null, ms), ms));
          return {got, text: util.format('%s=%d %j', 'a', 4, {b: 1}), waited: await later(5),
                  base: require('path').basename('/x/y.txt', '.txt')};
        };"""})))
    assert _ok(client.post("/invoke/t-rt-events")) == {
        "got": [1, "once 1", 2], "text": 'a=4 {"b":1}', "waited": 5, "base": "y"}


# -- thrown values, exit


def test_rejected_and_thrown_values_keep_their_json(client: httpx.Client) -> None:
    deploy(client, "t-rt-values", js_upload("""
        function main(p) {
          if (p.kind === 'reject') return Promise.reject({msg: 'x', n: [1, 2]});
          if (p.kind === 'string') throw 'plain text';
          if (p.kind === 'zero') throw 0;
          throw new RangeError('an Error');
        }"""))
    body = _error(client.post("/invoke/t-rt-values", json={"kind": "reject"}), 502)
    assert body["value"] == {"msg": "x", "n": [1, 2]} and json.loads(body["error"]) == body["value"]
    body = _error(client.post("/invoke/t-rt-values", json={"kind": "string"}), 502)
    assert body["value"] == "plain text" and body["error"] == "plain text"
    record = client.get(f"/invocations/{body['invocation_id']}").json()
    assert record["error"]["value"] == "plain text"
    body = _error(client.post("/invoke/t-rt-values", json={"kind": "zero"}), 502)
    assert body["value"] == 0
    body = _error(client.post("/invoke/t-rt-values", json={"kind": "error"}), 502)
    assert body["error"] == "an Error" and body["type"] == "RangeError" and body["line"] == 6 and "value" not in body


def test_process_exit_is_the_exit_error_even_when_caught_and_drops_the_isolate(client: httpx.Client) -> None:
    deploy(client, "t-rt-exit", js_upload("""
        let exitedHere = false;
        function main(p) {
          if (p.exit) { exitedHere = true; try { process.exit(1); } catch (e) {} return {swallowed: true}; }
          return {exitedHere};
        }"""))
    body = _error(client.post("/invoke/t-rt-exit", json={"exit": True}), 502)
    assert body["kind"] == "exit" and "called exit (1)" in body["error"]
    for _ in range(6):  # the isolate that exited never serves again
        assert _ok(client.post("/invoke/t-rt-exit")) == {"exitedHere": False}


# -- per-call env: every call gets OpenWhisk's __OW_* variables, its own and no one else's


def test_per_call_env_reaches_the_guest_and_never_leaks(client: httpx.Client) -> None:
    js = ("function main() { const e = process.env; return {id: e.__OW_ACTIVATION_ID, who: e.WHO, "
          "name: e.__OW_ACTION_NAME, keys: Object.keys(e).filter((k) => k.startsWith('__OW_')).sort()}; }")
    py = ("import os\ndef main(args):\n    return {'id': os.environ.get('__OW_ACTIVATION_ID'), "
          "'who': os.environ.get('WHO'), 'name': os.environ.get('__OW_ACTION_NAME')}\n")
    # The runner writes the env without importing os: a function that imports it only inside
    # main, after the call's variables were set, sees them too, non-ASCII values included.
    py_late = ("def main(args):\n    import os\n    e = os.environ\n"
               "    return {'id': e.get('__OW_ACTIVATION_ID'), 'who': e.get('WHO'), 'name': e.get('__OW_ACTION_NAME'),"
               " 'caf\u00e9': e.get('CAFE'), 'keys': sorted(k for k in e if k.startswith('__OW_'))}\n")
    for name, body in (("t-rt-env-js", js_upload(js, env={"WHO": "deployed"})),
                       ("t-rt-env-py", python_upload(py, env={"WHO": "deployed"})),
                       ("t-rt-env-py-late",
                        python_upload(py_late, env={"WHO": "deployed", "CAFE": "caf\u00e9 \u2603"}))):
        deploy(client, name, body)
        ids = set()
        for _ in range(3):
            r = client.post(f"/invoke/{name}")
            seen = _ok(r)
            assert seen["id"] == r.headers["x-invocation-id"] and seen["who"] == "deployed"
            assert seen["name"] == f"/guest/{name}"
            if "keys" in seen:  # no API key: the version did not ask for it (provide-api-key)
                assert seen["keys"] == ["__OW_ACTION_NAME", "__OW_ACTIVATION_ID", "__OW_API_HOST", "__OW_DEADLINE",
                                        "__OW_NAMESPACE"]
            if name == "t-rt-env-py-late":
                assert seen["caf\u00e9"] == "caf\u00e9 \u2603"
            ids.add(seen["id"])
        assert len(ids) == 3  # each call saw its own id, never the one before's


def test_python_params_and_results_keep_jsons_values_and_bad_results_are_clear_errors(
        client: httpx.Client) -> None:
    deploy(client, "t-rt-py-json", python_upload("""
import sys
def main(args):
    if args.get("bad"):
        return {"s": {1, 2}}
    if args.get("fail"):
        return [1][2]
    return {"echo": args, "types": [type(v).__name__ for v in args.values()],
            "float": 0.1 + 0.2, "big": 2 ** 70, "text": "h\u00e9llo \U0001F600", "none": None,
            "json_loaded": "json" in sys.modules}
"""))
    params = {"i": 3, "f": 2.5, "s": "caf\u00e9 \U0001F600", "l": [1, [2, {}]], "n": None, "b": True, "e": 1e300}
    raw = client.post("/invoke/t-rt-py-json", content=b"  \n" + json.dumps(params).encode() + b" \r\n",
                      headers={"content-type": "application/json"})
    got = _ok(raw)
    assert got["echo"] == params and got["types"] == ["int", "float", "str", "list", "NoneType", "bool", "float"]
    assert got["float"] == 0.1 + 0.2 and got["big"] == 2 ** 70 and got["text"] == "h\u00e9llo \U0001F600"
    assert got["none"] is None and got["json_loaded"] is False  # the runner never imported json
    assert b'"text": "h\\u00e9llo \\ud83d\\ude00"' in raw.content  # json.dumps's own encoding
    body = _error(client.post("/invoke/t-rt-py-json", json={"bad": True}), 502)
    assert body["type"] == "TypeError" and body["error"] == "Object of type set is not JSON serializable"
    body = _error(client.post("/invoke/t-rt-py-json", json={"fail": True}), 502)
    assert body["type"] == "IndexError" and body["line"] == 7
    assert _ok(client.post("/invoke/t-rt-py-json", json={"x": 1}))["echo"] == {"x": 1}  # the isolate serves on


JSON_PROBE = """
import _json
import json
from decimal import Decimal

OPTIONS = [{}, {"strict": False}, {"parse_float": Decimal, "parse_int": str}, {"object_pairs_hook": list}]

def outcome(parse, doc):
    try:
        return ["ok", repr(parse(doc))]
    except (ValueError, RecursionError) as e:
        return ["error", type(e).__name__, str(e)]

def graalpys_own(options):
    decoder = json.JSONDecoder(**options)
    decoder.scan_once = _json.__gv_java_make_scanner(decoder)
    return decoder.decode

def main(args):
    ours, own = [], []
    for doc in args["docs"]:
        for options in OPTIONS:
            ours.append(outcome(lambda d: json.loads(d, **options), doc))
            own.append(outcome(graalpys_own(options), doc))
    return {"ours": ours, "own": own, "scanner": type(_json.make_scanner).__name__}
"""


def test_json_loads_in_python_functions_answers_as_graalpys_own(client: httpx.Client) -> None:
    # GraalPy contexts parse with graalvisor's shared scanner (json_scanner.py): the same values
    # (CPython's too) and the same errors as GraalPy's own scanner, for good and broken documents
    from tests.unit.test_json_scanner import EDGES, documents

    docs = [d for d in EDGES if len(d) < 2000] + documents()[len(EDGES):][:240]
    deploy(client, "t-rt-py-json-loads", python_upload(JSON_PROBE))
    got = _ok(client.post("/invoke/t-rt-py-json-loads", json={"docs": docs}))
    assert got["scanner"] == "function"  # installed in the context, ahead of GraalPy's own
    outcomes = list(zip(got["ours"], got["own"], strict=True))
    assert len(outcomes) == 4 * len(docs)
    mismatches = [(docs[i // 4][:80], i % 4, ours, own) for i, (ours, own) in enumerate(outcomes) if ours != own]
    assert not mismatches, mismatches[:5]
    for i, doc in enumerate(docs):  # default options: values as CPython's json gives them
        try:
            expected = repr(json.loads(doc))
        except (ValueError, RecursionError):
            continue
        assert got["ours"][4 * i] == ["ok", expected], doc[:80]
    assert sum(ours[0] == "error" for ours, _ in outcomes) > len(docs)  # the broken ones did fail


# -- Buffer, TextEncoder/TextDecoder, atob/btoa: what OpenWhisk actions use for base64 and bytes

ENCODING_PROBE = r"""
function main(p) {
  const bytes = Buffer.from(p.b64, 'base64');
  const text = 'héllo wörld 😀 \u2603';
  return {
    b64: Buffer.from(text).toString('base64'), b64url: Buffer.from(text).toString('base64url'),
    hex: Buffer.from(text, 'utf8').toString('hex'),
    back: Buffer.from(Buffer.from(text).toString('hex'), 'hex').toString(),
    utf8: bytes.toString('utf8'), latin1: bytes.toString('latin1'), len: Buffer.byteLength(text),
    json: JSON.stringify(Buffer.from([1, 2, 250])),
    concat: Buffer.concat([Buffer.from('ab'), Buffer.alloc(2, 'x')]).toString(),
    isBuffer: [Buffer.isBuffer(bytes), Buffer.isBuffer(new Uint8Array(1)), Buffer.isBuffer(bytes.slice(1))],
    encoder: Array.from(new TextEncoder().encode(text)), decoder: new TextDecoder().decode(bytes),
    btoa: btoa('bin\u00ff'), atob: atob('YmluAP8='), global: typeof global === 'object' && global === globalThis,
  };
}
"""


def test_buffer_and_text_encoding_match_node(client: httpx.Client) -> None:
    import base64
    import subprocess

    code = ENCODING_PROBE
    params = {"b64": base64.b64encode(bytes(range(256)) + "€ok".encode()).decode()}
    deploy(client, "t-rt-buffer", js_upload(code))
    ours = _ok(client.post("/invoke/t-rt-buffer", json=params))
    node = subprocess.run(["node", "-e", code + f"\nprocess.stdout.write(JSON.stringify(main({json.dumps(params)})))"],
                          capture_output=True, text=True, check=True)
    assert ours == json.loads(node.stdout)
    zip_code = zipped({"index.js": "const { Buffer } = require('buffer');\n"
                                   "exports.main = () => ({s: Buffer.from('aGk=', 'base64').toString()});\n"})
    deploy(client, "t-rt-buffer-zip", upload_body("js", zip_code))
    assert _ok(client.post("/invoke/t-rt-buffer-zip")) == {"s": "hi"}
