"""The OpenWhisk runtime contract of JS and Python functions: timers and when a call ends, thrown
values, process.exit."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.support import deploy, js_upload


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
