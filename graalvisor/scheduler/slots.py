"""A function's concurrency slots, and the pace of its calls that sets how many a Python one gets."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque


class Slots:
    """A semaphore whose limit can change while calls hold slots: a lower limit lets the calls
    in flight finish and admits no more until they are under it; a higher one wakes waiters."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def free(self) -> bool:
        """A slot can be taken now without waiting (and without passing anyone in line)."""
        return self.held < self.limit and not self._waiters

    def take(self) -> None:
        """Takes a slot :meth:`free` said was free."""
        self.held += 1

    async def acquire(self) -> None:
        if self.free():
            self.take()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as the wait was given up: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        self.held -= 1
        self._wake()

    def set_limit(self, limit: int) -> None:
        self.limit = limit
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.held < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.held += 1
                waiter.set_result(None)


class Pace:
    """How long a function's calls hold an isolate lately (a moving average of start and run),
    and whether they are short: a short Python call gives its isolate back in well under a
    round trip between gateway and worker, so more of them may be in flight than there are
    isolates and the worker queues them on the isolates it has instead of making new ones.
    Two thresholds, so a function near one does not flip its limit at every call."""

    SHORT_MS = 1.0  # below this, a function's calls become short
    LONG_MS = 4.0  # above this, they are no longer short
    WEIGHT = 0.2  # of the newest call in the average
    FIRST_CALLS = 8  # a version's calls before any are short: a few fast ones say little

    def __init__(self, key: str, held_ms: float) -> None:
        self.key = key  # a new version starts over: its first calls are cold
        self.mean_ms = held_ms
        self.calls = 1
        self.short = False

    def note(self, held_ms: float) -> bool:
        """Counts one call; true if whether the function's calls are short changed."""
        self.calls += 1
        self.mean_ms += (held_ms - self.mean_ms) * self.WEIGHT
        short = self.calls >= self.FIRST_CALLS and self.mean_ms < (self.LONG_MS if self.short else self.SHORT_MS)
        changed = short != self.short
        self.short = short
        return changed
