"""The catalog: latest versions, their worker keys, and locks that go once unused."""

from __future__ import annotations

import asyncio
import time

import pytest

from graalvisor.daemon.catalog import Catalog
from graalvisor.domain import NotFound, key_of
from graalvisor.registry import FunctionVersion


def version(name: str, n: int, sha: str = "a" * 64, timeout_ms: int = 1000) -> FunctionVersion:
    return FunctionVersion(name=name, version=n, language="js", entrypoint="main", sha256=sha, size=10,
                           binary=False, timeout_ms=timeout_ms, memory_mb=256, concurrency=4,
                           isolation="instance", env={}, created_at=time.time())


def test_put_returns_the_key_no_longer_served() -> None:
    catalog = Catalog()
    v1, v2 = version("f", 1), version("f", 2, sha="b" * 64)
    assert catalog.put(v1) is None
    assert catalog.put(v2) == key_of(v1)
    assert catalog.keys() == {key_of(v2)}
    assert catalog.by_key(key_of(v1)) is None
    assert catalog.require("f").version is v2


def test_same_code_and_config_is_the_same_key() -> None:
    catalog = Catalog()
    catalog.put(version("f", 1))
    # a new version number with identical code and config loads as the same thing
    assert catalog.put(version("f", 2)) is None
    assert len(catalog.keys()) == 1


def test_config_change_is_a_new_key() -> None:
    assert key_of(version("f", 1)) != key_of(version("f", 1, timeout_ms=2000))


def test_remove_and_require() -> None:
    catalog = Catalog()
    v = version("f", 1)
    catalog.put(v)
    assert catalog.remove("f") == key_of(v)
    assert catalog.remove("f") is None
    assert not catalog.is_current(key_of(v))
    with pytest.raises(NotFound, match="PUT /functions/f"):
        catalog.require("f")


def test_entries_are_sorted_by_name() -> None:
    catalog = Catalog()
    catalog.load({"b": version("b", 1), "a": version("a", 1)})
    assert [e.version.name for e in catalog.entries()] == ["a", "b"]
    assert len(catalog) == 2


def test_locks_serialise_one_function_and_are_pruned() -> None:
    catalog = Catalog()
    order: list[str] = []

    async def hold(tag: str) -> None:
        async with catalog.locked("f"):
            order.append(f"{tag}-in")
            await asyncio.sleep(0.01)
            order.append(f"{tag}-out")

    async def main() -> None:
        await asyncio.gather(hold("a"), hold("b"))
        assert catalog.lock_count() == 0

    asyncio.run(main())
    assert order in (["a-in", "a-out", "b-in", "b-out"], ["b-in", "b-out", "a-in", "a-out"])
