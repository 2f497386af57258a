"""Closed-loop load for one platform and one language: `locust -f bench/locustfile.py --headless ...`.

Driven by `python -m bench.replay.capacity`, which runs locust as a subprocess (locust's gevent
monkey-patching stays out of every other process). The targets come in GV_TARGETS, a JSON list
of [function name, params]; each user invokes them in turn with no think time.
"""

from __future__ import annotations

import itertools
import json
import os

from locust import FastHttpUser, constant, task

TARGETS: list[tuple[str, dict[str, object]]] = [(n, p) for n, p in json.loads(os.environ.get("GV_TARGETS", "[]"))]
LABEL = os.environ.get("GV_LABEL", "invoke")


class Invoker(FastHttpUser):
    wait_time = constant(0)
    network_timeout = 120.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        if not TARGETS:
            raise RuntimeError("GV_TARGETS is empty: set it to a JSON list of [name, params]")
        self._next = itertools.cycle(TARGETS)

    @task
    def invoke(self) -> None:
        name, params = next(self._next)
        with self.client.post(f"/invoke/{name}", json=params, name=LABEL, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {(r.text or '')[:120]}")
