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
