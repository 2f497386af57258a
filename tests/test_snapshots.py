"""Workers restored from CRIU images: correct, independent clones, never stale."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support import Daemon, deploy, java_upload, js_upload, python_upload, run_daemon

RANDOM_PY = "import random, uuid\ndef main(a):\n    return {'r': random.random(), 'u': str(uuid.uuid4())}\n"
RANDOM_JS = "function main() { return {r: Math.random()}; }"


def js(body: str) -> dict[str, Any]:
    return js_upload(f"function main(p) {{ {body} }}")


def wait_for_base_image(d: Daemon, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = httpx.get(d.url + "/healthz", timeout=10).json()
        assert health["criu"]["available"], health["criu"]
        if health["snapshots"]["base"]:
            return dict(health)
        time.sleep(1)
    raise TimeoutError("no base image was made")


def test_restored_worker_serves_all_three_languages(daemon: Daemon, hello_jar: bytes) -> None:
    wait_for_base_image(daemon)
    with daemon.client() as c:
        deploy(c, "s-js", js("return {greeting: 'hello ' + p.name};"))
        deploy(c, "s-py", python_upload("def main(a):\n    return {'greeting': 'hello ' + a['name']}\n"))
        deploy(c, "s-java", java_upload(hello_jar, "t.Hello"))
        for fn in ("s-js", "s-py", "s-java"):
            r = c.post(f"/invoke/{fn}", params={"worker": "snapshot"}, json={"name": fn})
            assert r.status_code == 200, r.text
            assert r.json() == {"greeting": f"hello {fn}"}
            assert r.headers["x-start"] == "snapshot"
        workers = c.get("/healthz").json()["workers"]
        assert sum(1 for w in workers if w["start"] == "snapshot") >= 3
        # Booted or restored, every worker took its calls on its Java invoke lane, reopened by clones.
        assert all(w["invoke_lane"] for w in workers if w["ready"]), workers


def test_four_concurrent_restores_of_one_image_all_serve(daemon: Daemon) -> None:
    wait_for_base_image(daemon)
    with daemon.client() as c:
        deploy(c, "s-four", js("return {n: p.n * 2};"))
        before = {w["token"] for w in c.get("/healthz").json()["workers"]}

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=daemon.url, timeout=120, auth=daemon.auth()) as c:
            return await asyncio.gather(*(c.post("/invoke/s-four", params={"worker": "snapshot"}, json={"n": i})
                                          for i in range(4)))

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    assert [r.json()["n"] for r in responses] == [0, 2, 4, 6]
    assert all(r.headers["x-start"] == "snapshot" for r in responses)
    with daemon.client() as c:
        new = [w for w in c.get("/healthz").json()["workers"] if w["token"] not in before]
    assert len([w for w in new if w["start"] == "snapshot"]) >= 4


def test_clones_draw_different_random_values_and_uuids(daemon: Daemon) -> None:
    wait_for_base_image(daemon)
    with daemon.client() as c:
        deploy(c, "s-rand-py", python_upload(RANDOM_PY))
        deploy(c, "s-rand-js", js_upload(RANDOM_JS))
        for fn in ("s-rand-py", "s-rand-js"):
            # A function image holds warm isolates of the function: the case where state is shared.
            snap = c.post(f"/functions/{fn}/snapshot", json={"warmup": 3})
            assert snap.status_code == 201, snap.text
            results = []
            for _ in range(2):
                r = c.post(f"/invoke/{fn}", params={"worker": "snapshot"})
                assert r.status_code == 200 and r.headers["x-start"] == "snapshot", r.text
                results.append(r.json())
            assert results[0] != results[1], results
            if fn == "s-rand-py":
                assert results[0]["u"] != results[1]["u"]


def test_an_updated_function_never_runs_its_old_snapshot(daemon: Daemon) -> None:
    wait_for_base_image(daemon)
    with daemon.client() as c:
        deploy(c, "s-upd", js("return {v: 1};"))
        snap = c.post("/functions/s-upd/snapshot")
        assert snap.status_code == 201, snap.text
        assert snap.json()["function"] == "s-upd"
        ids = [s["id"] for s in c.get("/snapshots").json()["snapshots"]]
        assert snap.json()["id"] in ids
        deploy(c, "s-upd", js("return {v: 2};"), status=200)
        ids = [s["id"] for s in c.get("/snapshots").json()["snapshots"]]
        assert snap.json()["id"] not in ids, "a new version must make the old image stale"
        assert not Path(snap.json()["path"]).exists()
        r = c.post("/invoke/s-upd", params={"worker": "snapshot"})
        assert r.status_code == 200 and r.json() == {"v": 2}


def test_snapshot_api_errors_and_delete(daemon: Daemon) -> None:
    with daemon.client() as c:
        assert c.post("/functions/s-nope/snapshot").status_code == 404
        assert c.delete("/snapshots/nope").status_code == 404
        deploy(c, "s-del", js("return {};"))
        assert c.post("/functions/s-del/snapshot", content=b"{bad").status_code == 400
        for bad in (10_001, -1, True, "5"):
            r = c.post("/functions/s-del/snapshot", json={"warmup": bad})
            assert r.status_code == 400 and "warmup" in r.json()["error"], r.text
        for params in ([], [{"n": 1}, 2], "n"):
            r = c.post("/functions/s-del/snapshot", json={"params": params})
            assert r.status_code == 400 and "params must be an object or a list" in r.json()["error"], r.text
        wait_for_base_image(daemon)
        made = c.post("/functions/s-del/snapshot", json={"warmup": 2, "params": [{}, {"n": 1}]})
        assert made.status_code == 201, made.text
        snap = made.json()
        assert c.delete(f"/snapshots/{snap['id']}").status_code == 200
        assert snap["id"] not in [s["id"] for s in c.get("/snapshots").json()["snapshots"]]
        assert c.post("/invoke/s-del", params={"worker": "snapshot"}).status_code == 200  # falls back to base


def test_kill_9_of_a_restored_worker_is_recovered(daemon: Daemon) -> None:
    wait_for_base_image(daemon)
    with daemon.client() as c:
        deploy(c, "s-kill", js("return {ok: 1};"))
        r = c.post("/invoke/s-kill", params={"worker": "snapshot"})
        assert r.status_code == 200
        members = [w for w in c.get("/healthz").json()["workers"] if w["role"] == "member"]
        known = {w["token"] for w in c.get("/healthz").json()["workers"]}
        # A dead member is replaced from the base image.
        old_pid = members[0]["pid"]
        os.kill(old_pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        replacement: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not replacement:
            workers = c.get("/healthz").json()["workers"]
            replacement = [w for w in workers if w["role"] == "member" and w["start"] == "snapshot" and w["ready"]
                           and w["token"] not in known]
            time.sleep(0.2)
        assert replacement, workers
        os.kill(replacement[0]["pid"], signal.SIGKILL)
        daemon.wait_healthy(workers=2)
        assert c.post("/invoke/s-kill").json() == {"ok": 1}


def test_without_criu_workers_boot_and_everything_else_works(data_root: Path) -> None:
    with run_daemon(data_root / "nocriu", workers=1, extra=["--no-snapshots"]) as d, d.client() as c:
        health = c.get("/healthz").json()
        assert health["criu"]["available"] is False and "disabled" in health["criu"]["message"]
        assert health["snapshots"]["booting_because"]
        assert "graalvisor_snapshot_fallback 1.0" in c.get("/metrics").text
        deploy(c, "n", js("return {ok: 1};"))
        assert c.post("/invoke/n").json() == {"ok": 1}
        r = c.post("/functions/n/snapshot")
        assert r.status_code == 503 and "unavailable" in r.json()["error"]
        r = c.post("/invoke/n", params={"worker": "snapshot"})
        assert r.status_code == 503 and "restore" in r.json()["error"]
        r = c.post("/invoke/n", params={"worker": "boot"})
        assert r.status_code == 200 and r.headers["x-start"] == "boot"


def test_images_are_mapped_and_a_function_image_outlives_its_base(daemon: Daemon) -> None:
    base = wait_for_base_image(daemon)["snapshots"]["base"]
    with daemon.client() as c:
        assert c.get("/healthz").json()["snapshots"]["memory"] == "mapped"
        deploy(c, "s-map", js("return {n: p.n + 1};"))
        snap = c.post("/functions/s-map/snapshot", json={"warmup": 2})
        assert snap.status_code == 201, snap.text
        images = {s["id"]: s for s in c.get("/snapshots").json()["snapshots"]}
        for image in (images[base], images[snap.json()["id"]]):
            # Most memory is mapped from the image's memory file; only a little is copied.
            assert image["mapped_bytes"] > 4 * image["copied_bytes"], image
            assert (Path(image["path"]) / "memory.bin").stat().st_mode & 0o222 == 0  # never written again
        # The function image was dumped from a worker restored from the base image, so its memory
        # came partly from the base's memory file: it must still restore once that file is gone.
        assert c.delete(f"/snapshots/{base}").status_code == 200
        assert not Path(images[base]["path"]).exists()
        for n in range(2):
            r = c.post("/invoke/s-map", params={"worker": "snapshot"}, json={"n": n})
            assert r.status_code == 200 and r.json() == {"n": n + 1}, r.text
            assert r.headers["x-start"] == "snapshot"
    assert wait_for_base_image(daemon)["snapshots"]["base"] != base, "a removed base image is made again"


def test_a_busy_guest_function_gets_its_own_image(daemon: Daemon, hello_jar: bytes) -> None:
    """After --snapshot-after calls (100 by default) a JS or Python version is imaged on its
    own; Java never is (its code may do I/O, and a warm-up repeats calls)."""
    wait_for_base_image(daemon)
    with daemon.client() as c:
        deploy(c, "s-auto-java", java_upload(hello_jar, "t.Hello"))
        deploy(c, "s-auto", js("return {n: p.n * 2};"))
        for n in range(100):  # Java first: had it been imaged, its image would come first
            assert c.post("/invoke/s-auto-java", json={"name": str(n)}).status_code == 200
        for n in range(99):
            assert c.post("/invoke/s-auto", json={"n": n}).status_code == 200
        assert not [s for s in c.get("/snapshots").json()["snapshots"] if s.get("function") == "s-auto"]
        assert c.post("/invoke/s-auto", json={"n": 99}).status_code == 200
        deadline = time.monotonic() + 180
        while not (mine := [s for s in c.get("/snapshots").json()["snapshots"] if s.get("function") == "s-auto"]):
            assert time.monotonic() < deadline, "no function image after 100 calls"
            time.sleep(0.5)
        names = {s.get("function") for s in c.get("/snapshots").json()["snapshots"]}
        assert "s-auto-java" not in names
        r = c.post("/invoke/s-auto", params={"worker": "snapshot"}, json={"n": 21})
        assert r.status_code == 200 and r.json() == {"n": 42}, r.text
        workers = c.get("/healthz").json()["workers"]
        assert any(w["image"] == mine[0]["id"] for w in workers), workers


def test_the_corpus_warms_the_base_image_and_booted_members_are_swapped_for_clones(data_root: Path,
                                                                                    hello_jar: bytes) -> None:
    with run_daemon(data_root / "corpus", workers=1, extra=["--base-warmup-s", "15"]) as d, d.client() as c:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            health = c.get("/healthz").json()
            members = [w for w in health["workers"] if w["role"] == "member"]
            swapped = members and all(w["start"] == "snapshot" and w["ready"] for w in members)
            if health["snapshots"]["base"] and swapped:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the booted member was not replaced by a clone: {health}")
        assert len(members) == 1 and members[0]["ready"]
        assert health["worker_starts"]["boot"] == 2  # the first member and the template, nothing since
        log = d.log()
        assert "corpus calls per language" in log and "Python isolates loaded and unloaded" in log, log[-3000:]
        assert "base template: rewarm pass 1 loaded" in log, log[-3000:]  # the pass after the corpus
        assert "(booted) replaced by" in log
        deploy(c, "w-js", js("return {v: p.n * 2};"))
        deploy(c, "w-py", python_upload("def main(a):\n    return {'v': a['n'] * 3}\n"))
        deploy(c, "w-java", java_upload(hello_jar, "t.Hello"))
        assert c.post("/invoke/w-js", json={"n": 2}).json() == {"v": 4}
        assert c.post("/invoke/w-py", json={"n": 2}).json() == {"v": 6}
        assert c.post("/invoke/w-java", json={"name": "x"}).json() == {"greeting": "hello x"}


def test_versions_are_compiled_into_the_rolling_image_and_new_workers_start_from_it(data_root: Path) -> None:
    # An image may hold no idle isolate (1 % of the old generation is less than the runtime's
    # own): its versions stay loaded and compiled, and a clone's first call makes an isolate.
    # --snapshot-after 3: r-py's third call comes once the rolling image holds it.
    flags = ["--warm-versions", "--compile-after-calls", "2", "--image-heap-percent", "1", "--snapshot-after", "3"]
    with run_daemon(data_root / "rolling", workers=1, extra=flags) as d, d.client() as c:
        wait_for_base_image(d)
        base_member = d.wait_healthy(workers=1)["workers"][0]
        # one version compiled at deploy (sample warm-up params given), one after two calls
        deploy(c, "r-js", {**js("return {v: (p.n || 0) + 1};"), "warmup": {"params": [{"n": 1}, {"n": 0.5}]}})
        deploy(c, "r-py", python_upload("def main(a):\n    return {'v': a.get('n', 0) * 2}\n"))
        for _ in range(2):
            assert c.post("/invoke/r-py", json={"n": 4}).json() == {"v": 8}
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            listed = {f["name"]: f["compiled"] for f in c.get("/functions").json()["functions"]}
            health = c.get("/healthz").json()
            members = [w for w in health["workers"] if w["role"] == "member"]
            if (all(listed.values()) and health["snapshots"]["warm_versions"] == 2 and members
                    and all(w["image"] != base_member["image"] and w["ready"] for w in members)):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"not compiled in, or the member not renewed for r-js: {listed} {health}")
        assert c.get("/functions/r-js").json()["compiled"] is True
        warm = [s for s in c.get("/snapshots").json()["snapshots"] if s["kind"] == "warm"]
        assert len(warm) == 1, "older generations are removed"
        assert len(warm[0]["function_keys"]) == 2
        # The member was swapped for a clone of the generation holding r-js (asked for at its
        # deploy); one made for r-py alone (compiled after its calls) leaves the member as it is.
        # A new worker (here the member's replacement) starts from the newest generation and
        # holds both versions from its hello: no load before a call.
        old_pid = members[0]["pid"]
        os.kill(old_pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            health = c.get("/healthz").json()
            members = [w for w in health["workers"] if w["role"] == "member" and w["ready"] and w["pid"] != old_pid]
            if members:
                break
            time.sleep(0.2)
        assert members and members[0]["image"] == warm[0]["id"], health
        assert [w["functions_loaded"] for w in members] == [2]
        # r-py's warm-up took a blank context of the template's; the image was given it back
        assert members[0]["blanks_ready"]["python"] >= 2, members
        for name, params, want in (("r-js", {"n": 2}, {"v": 3}), ("r-py", {"n": 5}, {"v": 10})):
            r = c.post(f"/invoke/{name}", json=params)
            assert r.json() == want and r.headers["x-start"] == "isolate", (name, r.headers)
            again = c.post(f"/invoke/{name}", json=params)
            assert again.json() == want and again.headers["x-start"] == "warm", (name, again.headers)
        # r-py's third and fourth calls: the rolling image holds it, so no image of its own
        assert "no function image for guest/r-py@" in d.log() and "the rolling image holds it" in d.log()
        # each generation says how much of the code cache its compiled code fills
        assert re.search(r"rolling image: compiled code [1-9]\d* of [1-9]\d* MB with [12] versions", d.log())
        assert not [s for s in c.get("/snapshots").json()["snapshots"] if s["kind"] == "function"]
        # an updated version leaves the image at the next generation and never runs again
        deploy(c, "r-js", js("return {v: 'new'};"), status=200)
        assert c.post("/invoke/r-js").json() == {"v": "new"}
        assert c.get("/functions/r-js").json()["compiled"] is False
    # A restarted daemon reads the warm-up params kept with the newest generation, so its next
    # generation can call the versions imaged before the restart in turn (r-py; the old r-js is
    # no longer served).
    with run_daemon(data_root / "rolling", workers=1, extra=flags) as d, d.client() as c:
        d.wait_healthy(workers=1)
        deploy(c, "r-js2", {**js("return {v: 2};"), "warmup": {"params": {"n": 1}}})
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not c.get("/functions/r-js2").json()["compiled"]:
            time.sleep(0.5)
        assert re.search(r"rolling image \w+: warm-up params of 1 of its versions read", d.log()), d.log()[-3000:]
        assert c.get("/functions/r-js2").json()["compiled"] is True
        warm = [s for s in c.get("/snapshots").json()["snapshots"] if s["kind"] == "warm"]
        kept = json.loads((Path(warm[0]["path"]) / "replays.json").read_text())
        assert sorted(kept) == sorted(warm[0]["function_keys"]) and len(kept) == 2, kept
        assert c.post("/invoke/r-py", json={"n": 1}).json() == {"v": 2}
