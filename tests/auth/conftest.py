"""Fixtures for the authentication tests (their helpers, tokens and calls to /gateway/me,
are in tests/support/tokens.py; rejection counters in tests/support/metrics.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app import create_app
from config.settings import load_settings
from tests.support.environments import gateway_env
from tests.support.redis_helpers import delete_prefix, real_redis_url, unique_prefix
from tests.support.servers import LiveServer


@pytest.fixture
def tenant(emulator: Any) -> Any:
    return emulator.tenant


@pytest.fixture(scope="module")
def shared_gateway(emulator: Any) -> Iterator[LiveServer]:
    """One gateway for tests that only read (most rejection cases): per-test gateways cost
    half a second each to stop. Per-caller rate limits are off: these tests send far more
    than RATE_LIMIT_UNAUTHENTICATED bad tokens a minute, and the limits have their own tests."""
    url = real_redis_url()
    prefix = unique_prefix()
    app = create_app(load_settings(gateway_env(emulator, url, prefix,
                                               RATE_LIMITS_ENABLED="false")))
    with LiveServer(app) as server:
        yield server
    delete_prefix(url, prefix)
