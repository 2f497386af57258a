"""Keys and namespaces on the native API: the shared daemon has keys, so every call needs one; a
namespace sees only its own functions and records; a daemon with no keys will not listen beyond
loopback."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from graalvisor.config import REPO_ROOT
from graalvisor.launcher import create_key
from tests.support import Daemon, deploy, js_upload

HELLO = "function main(p) { return {hi: p.name}; }"


def test_every_call_needs_a_valid_key(daemon: Daemon) -> None:
    with daemon.client() as c:
        deploy(c, "auth-hello", js_upload(HELLO), status=201)
    with httpx.Client(base_url=daemon.url) as anonymous:
        for method, path in (("GET", "/functions"), ("POST", "/invoke/auth-hello"), ("GET", "/metrics"),
                             ("PUT", "/functions/x"), ("GET", "/invocations/abc")):
            r = anonymous.request(method, path)
            assert r.status_code == 401, (path, r.text)
            assert "graalvisor keys create" in r.json()["error"] and r.headers["www-authenticate"]
        assert anonymous.get("/healthz").status_code in (200, 503)  # probes need no key
        uuid = daemon.credential.split(":")[0]
        bad = anonymous.get("/functions", auth=(uuid, "not-the-key"))
        assert bad.status_code == 401 and "not valid" in bad.json()["error"]
        bearer = anonymous.post("/invoke/auth-hello", json={"name": "b"},
                                headers={"authorization": f"Bearer {daemon.credential}"})
        assert bearer.status_code == 200 and bearer.json() == {"hi": "b"}


def test_a_namespace_sees_only_its_own(daemon: Daemon) -> None:
    with daemon.client() as c:
        deploy(c, "auth-mine", js_upload(HELLO), status=201)
        inv_id = c.post("/invoke/auth-mine", json={"name": "x"}).headers["x-invocation-id"]
    with daemon.client(credential=daemon.create_key("tenant-b")) as b:
        assert "auth-mine" not in [f["name"] for f in b.get("/functions").json()["functions"]]
        assert b.get("/functions/auth-mine").status_code == 404
        assert b.post("/invoke/auth-mine", json={}).status_code == 404
        assert b.get(f"/invocations/{inv_id}").status_code == 404
        assert b.delete("/functions/auth-mine").status_code == 404
        # The same name in another namespace is another function.
        deploy(b, "auth-mine", js_upload("function main() { return {who: 'b'}; }"), status=201)
        assert b.post("/invoke/auth-mine", json={}).json() == {"who": "b"}
        listed = b.get("/functions").json()["functions"]
        assert [(f["name"], f["namespace"]) for f in listed] == [("auth-mine", "tenant-b")]
    with daemon.client() as c:
        assert c.post("/invoke/auth-mine", json={"name": "y"}).json() == {"hi": "y"}
        record = c.get(f"/invocations/{inv_id}").json()
        assert (record["function"], record["namespace"]) == ("auth-mine", "guest")


def test_a_revoked_key_stops_working(daemon: Daemon) -> None:
    key = daemon.create_key("short-lived")
    with daemon.client(credential=key) as c:
        assert c.get("/functions").status_code == 200
        keys = [sys.executable, "-m", "graalvisor.cli", "keys", "--data-dir", str(daemon.data_dir)]
        listed = subprocess.run([*keys, "list", "short-lived"], capture_output=True, text=True, check=True)
        assert key.split(":")[0] in listed.stdout and key.split(":")[1] not in listed.stdout
        subprocess.run([*keys, "revoke", "short-lived"], check=True, capture_output=True)
        deadline = time.monotonic() + 10  # the daemon caches an answer for a second
        while c.get("/functions").status_code == 200:
            assert time.monotonic() < deadline, "the revoked key still works"
            time.sleep(0.2)
        assert c.get("/functions").status_code == 401


def test_without_keys_the_daemon_will_not_listen_beyond_loopback(tmp_path: Path) -> None:
    serve = [sys.executable, "-m", "graalvisor.cli", "serve", "--host", "0.0.0.0", "--port", "1",
             "--data-dir", str(tmp_path / "data")]
    refused = subprocess.run(serve, capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert refused.returncode == 2 and "no API keys" in refused.stderr and "keys create" in refused.stderr
    create_key(tmp_path / "data", "ops")
    bad = subprocess.run([sys.executable, "-m", "graalvisor.cli", "keys", "--data-dir", str(tmp_path / "data"),
                          "create", "bad/ns"], capture_output=True, text=True, cwd=REPO_ROOT)
    assert bad.returncode == 2 and "invalid namespace" in bad.stderr
