"""Fixtures for the token broker: brokers against the emulator, real Redis, a recorder of
token requests (their classes are in tests/support/brokers.py).

Tests that count mints use `fresh_emulator` (a tenant of their own, counters at
zero). Redis is the real one (db 15, a unique prefix per test) unless a test
needs to stop it: `private_redis` (tests/conftest.py) runs a redis-server of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.brokers import BrokerFactory, TokenEndpointRecorder


@pytest.fixture
def make_broker(fresh_emulator: Any, redis_url: str, redis_prefix: str
                ) -> Iterator[BrokerFactory]:
    factory = BrokerFactory(fresh_emulator, redis_url, redis_prefix, [])
    yield factory
    for broker in factory.brokers:
        broker.session.close()
    fresh_emulator.tenant.faults.clear()


@pytest.fixture
def tenant(fresh_emulator: Any) -> Any:
    return fresh_emulator.tenant


@pytest.fixture
def token_recorder(fresh_emulator: Any) -> Iterator[TokenEndpointRecorder]:
    recorder = TokenEndpointRecorder(fresh_emulator.url)
    yield recorder
    recorder.server.stop()
