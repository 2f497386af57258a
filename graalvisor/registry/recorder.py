"""Invocation records: kept in memory while running, then written to SQLite in batches so
the invoke path never waits on a disk write."""

from __future__ import annotations

import asyncio
import logging

from graalvisor.registry.db import InvocationRecord, Registry

log = logging.getLogger("graalvisor.registry")

FLUSH_INTERVAL_S = 0.1


class Recorder:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._live: dict[str, InvocationRecord] = {}  # running, or finished and not yet written
        self._finished: list[InvocationRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="invocation-recorder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.flush()

    def begin(self, record: InvocationRecord) -> None:
        self._live[record.id] = record

    def finish(self, record: InvocationRecord) -> None:
        self._live[record.id] = record
        self._finished.append(record)
        self._wake.set()

    def live(self, invocation_id: str) -> InvocationRecord | None:
        """A record still in memory: running, or finished and not yet written."""
        return self._live.get(invocation_id)

    def running(self) -> list[InvocationRecord]:
        """Records in memory: calls still running, and finished ones not yet written."""
        return list(self._live.values())

    async def flush(self) -> None:
        batch, self._finished = self._finished, []
        if not batch:
            return
        try:
            await asyncio.to_thread(self.registry.record_invocations, batch)
        except Exception:
            log.exception("could not write %d invocation records; keeping them for the next flush", len(batch))
            self._finished = batch + self._finished
            return
        for record in batch:
            if self._live.get(record.id) is record:
                del self._live[record.id]

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(FLUSH_INTERVAL_S)  # let a burst gather into one transaction
            await self.flush()
