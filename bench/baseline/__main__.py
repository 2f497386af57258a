"""`python -m bench.baseline --port P --data-dir D`: serve the process-per-instance baseline."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from bench.baseline.gateway import create_app


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    p.add_argument("--data-dir", type=Path, default=Path("build/bench/baseline-data"))
    p.add_argument("--keep-alive-s", type=float, default=600.0, help="idle time before an instance stops")
    p.add_argument("--max-instances", type=int, default=512, help="beyond this, evict the least recently used idle one")
    p.add_argument("--memory-budget-mb", type=int, default=8192,
                   help="instances start only while the platform's PSS fits this; idle ones are evicted LRU (0: none)")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(a.data_dir, a.keep_alive_s, a.max_instances, a.memory_budget_mb)
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
