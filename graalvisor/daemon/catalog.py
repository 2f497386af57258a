"""The versions being served: each function's latest version and the worker key it loads as.
The one owner of that mapping, and of the per-function locks that order deploys and deletes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property

from graalvisor.domain import NotFound, bare, key_of
from graalvisor.registry import FunctionVersion
from graalvisor.scheduler import Target


@dataclass(frozen=True)
class Entry:
    version: FunctionVersion
    key: str

    @cached_property
    def target(self) -> Target:
        """What the scheduler needs of this version: made once, not on every call (2 µs)."""
        v = self.version
        return Target(key=self.key, name=v.name, language=v.language, timeout_ms=v.timeout_ms,
                      concurrency=v.concurrency)


class Catalog:
    def __init__(self) -> None:
        self._latest: dict[str, Entry] = {}
        self._by_key: dict[str, Entry] = {}
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # name -> (lock, holders and waiters)

    def load(self, versions: dict[str, FunctionVersion]) -> None:
        for version in versions.values():
            self.put(version)

    def __len__(self) -> int:
        return len(self._latest)

    def get(self, name: str) -> Entry | None:
        return self._latest.get(name)

    def require(self, name: str) -> Entry:
        entry = self._latest.get(name)
        if entry is None:
            raise unknown(name)
        return entry

    def by_key(self, key: str) -> FunctionVersion | None:
        entry = self._by_key.get(key)
        return entry.version if entry else None

    def is_current(self, key: str) -> bool:
        return key in self._by_key

    def keys(self) -> set[str]:
        return set(self._by_key)

    def entries(self) -> list[Entry]:
        return [self._latest[name] for name in sorted(self._latest)]

    def put(self, version: FunctionVersion) -> str | None:
        """Makes ``version`` its function's latest; returns the key no longer served, if any."""
        entry = Entry(version, key_of(version))
        previous = self._latest.get(version.name)
        self._latest[version.name] = entry
        self._by_key[entry.key] = entry
        if previous is not None and previous.key != entry.key:
            del self._by_key[previous.key]
            return previous.key
        return None

    def remove(self, name: str) -> str | None:
        """Forgets a function; returns the key no longer served, if it was known."""
        entry = self._latest.pop(name, None)
        if entry is None:
            return None
        self._by_key.pop(entry.key, None)
        return entry.key

    @asynccontextmanager
    async def locked(self, name: str) -> AsyncIterator[None]:
        """Deploys and deletes of one function run one at a time; the lock goes once unused."""
        lock, users = self._locks.get(name, (asyncio.Lock(), 0))
        self._locks[name] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[name]
            if users == 1:
                del self._locks[name]
            else:
                self._locks[name] = (lock, users - 1)

    def lock_count(self) -> int:
        return len(self._locks)


def unknown(name: str) -> NotFound:
    """``name`` is qualified; the message names the function as its namespace knows it."""
    short = bare(name)
    return NotFound(f"no function named '{short}'; deploy it with PUT /functions/{short}")
