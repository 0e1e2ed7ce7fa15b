"""Fixtures for runtime tests: the gateway under real gunicorn (and nginx)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.environments import gateway_env
from tests.support.processes import Gunicorn


@pytest.fixture
def start_gunicorn(emulator: Any, redis_url: str, redis_prefix: str
                   ) -> Iterator[Callable[..., Gunicorn]]:
    """Start gunicorn serving the gateway against the session emulator; stopped after."""
    servers: list[Gunicorn] = []

    def start(*, emulator_server: Any = None, workers: int = 2, app: str = "wsgi:app",
              worker_class: str = "gthread", **overrides: str) -> Gunicorn:
        env = gateway_env(emulator_server or emulator, redis_url, redis_prefix, **overrides)
        server = Gunicorn(env, workers=workers, app=app, worker_class=worker_class)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.__exit__(None, None, None)
