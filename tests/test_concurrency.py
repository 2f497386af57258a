"""Many invocations in flight at once, across languages, all answered correctly."""

from __future__ import annotations

import asyncio

import httpx

from tests.support import Daemon, deploy, java_upload, js_upload, python_upload


def test_fifty_concurrent_invocations_across_three_languages(daemon: Daemon, hello_jar: bytes) -> None:
    with daemon.client() as c:
        deploy(c, "c-js", js_upload("function main(p){ return {greeting: 'hello ' + p.name, lang: 'js'}; }"))
        deploy(c, "c-py", python_upload("def main(a):\n    return {'greeting': 'hello ' + a['name'], 'lang': 'py'}\n"))
        deploy(c, "c-java", java_upload(hello_jar, "t.Hello"))

    async def run() -> list[tuple[str, int, int, dict[str, object]]]:
        async with httpx.AsyncClient(base_url=daemon.url, timeout=120, auth=daemon.auth(),
                                     limits=httpx.Limits(max_connections=50)) as c:
            async def one(i: int) -> tuple[str, int, int, dict[str, object]]:
                fn = ("c-js", "c-py", "c-java")[i % 3]
                r = await c.post(f"/invoke/{fn}", json={"name": f"n{i}"})
                return fn, i, r.status_code, r.json()
            return await asyncio.gather(*(one(i) for i in range(50)))

    for fn, i, status, body in asyncio.run(run()):
        assert status == 200, (fn, body)
        assert body["greeting"] == f"hello n{i}", (fn, body)


def test_a_burst_of_first_calls_waits_for_the_first_to_answer(daemon: Daemon) -> None:
    """A version new to the workers runs two calls at once until one has answered: the rest of a
    burst of first calls start after one of those, where it is loaded, not beside them in the interpreter."""
    code = ("function main(p) { const start = Date.now(); let x = 0;"
            " while (Date.now() - start < 300) { x += Math.sqrt(x + 1); }"
            " return {start: start, end: Date.now()}; }")
    with daemon.client() as c:
        deploy(c, "c-burst", js_upload(code))
    responses = calls_at_once(daemon, "c-burst", 4)
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    calls = sorted((r.json() for r in responses), key=lambda b: b["start"])
    first_end = min(b["end"] for b in calls[:2])
    assert all(b["start"] >= first_end for b in calls[2:]), calls


def test_a_call_waits_for_a_busy_isolate_when_a_new_one_costs_more(daemon: Daemon) -> None:
    """A Python version whose isolate takes seconds to make (slow top-level code): a call that
    finds its one isolate busy for half a second waits for it rather than making a second one."""
    code = ("import random, time\n"
            "end = time.time() + 4\n"
            "while time.time() < end:\n    pass\n"
            "ISOLATE = random.random()\n"
            "def main(a):\n"
            "    end = time.time() + 0.5\n"
            "    while time.time() < end:\n        pass\n"
            "    return {'isolate': ISOLATE}\n")
    with daemon.client() as c:
        deploy(c, "c-slow-start", python_upload(code))
    responses = calls_at_once(daemon, "c-slow-start", 2)
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert responses[0].json() == responses[1].json(), "the second call made an isolate of its own"


def calls_at_once(daemon: Daemon, name: str, count: int) -> list[httpx.Response]:
    """``count`` calls of ``name`` with empty params, all sent at once."""
    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=daemon.url, timeout=120, auth=daemon.auth()) as c:
            return await asyncio.gather(*(c.post(f"/invoke/{name}", json={}) for _ in range(count)))

    return asyncio.run(run())
