"""A gateway-like process for the multi-process stampede test (spawned, so importable)."""

from __future__ import annotations

import threading
from typing import Any

from app.management.broker import TokenBroker
from app.redis_conn import connect
from config.settings import load_settings


def run(env: dict[str, str], threads: int, barrier: Any, results: Any) -> None:
    """Build a broker as a worker would, wait for the others, then call it from `threads`."""
    settings = load_settings(env)
    broker = TokenBroker(settings, connect(settings))
    got: list[tuple[str, str]] = []

    def call(i: int) -> None:
        tier = settings.tiers[i % len(settings.tiers)]
        try:
            got.append((tier.name, broker.get_token(tier)))
        except Exception as exc:  # reported to the parent, which fails the test
            got.append((tier.name, f"error: {type(exc).__name__}: {exc}"))

    workers = [threading.Thread(target=call, args=(i,)) for i in range(threads)]
    barrier.wait(timeout=60)  # every process is built and ready: a cold, simultaneous start
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put(got)
