from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from graalvisor.launcher import create_key
from tests.support import Daemon, build_jar, run_daemon

HELLO_JAVA = """
package t;
import com.google.gson.JsonObject;
public class Hello {
    public static JsonObject main(JsonObject args) {
        String name = args.has("name") ? args.get("name").getAsString() : "world";
        System.out.println("java says " + name);
        JsonObject r = new JsonObject();
        r.addProperty("greeting", "hello " + name);
        return r;
    }
}
"""


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon (two workers) shared by every test that does not need its own. It has API keys,
    as a daemon serving several users would: its client() sends the default namespace's."""
    data_dir = tmp_path_factory.mktemp("shared") / "data"
    credential = create_key(data_dir, "guest")
    with run_daemon(data_dir, workers=2, extra=["--blocking-wait-s", "5"]) as d:
        d.credential = credential
        yield d


@pytest.fixture
def client(daemon: Daemon) -> Iterator[httpx.Client]:
    with daemon.client() as c:
        yield c


@pytest.fixture(scope="session")
def hello_jar() -> bytes:
    return build_jar({"t/Hello.java": HELLO_JAVA})


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("own")
