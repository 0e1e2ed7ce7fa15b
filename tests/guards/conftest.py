"""Fixtures for the guardrail tests: full stacks with the shipped policy and readers of the
audit stream (`private_redis`, a Redis a test may stop, is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.support.audit import audit_events
from tests.support.servers import LiveServer
from tests.support.stack import Stack


@pytest.fixture
def make_guard_stack(fresh_emulator: Any, make_gateway: Callable[..., LiveServer]
                     ) -> Callable[..., Stack]:
    """A fresh emulator and a gateway with the shipped policy (guardrails on)."""
    def make(**overrides: str) -> Stack:
        gateway = make_gateway(fresh_emulator, **overrides)
        return Stack(fresh_emulator, gateway, requests.Session())
    return make


@pytest.fixture
def gstack(make_guard_stack: Callable[..., Stack]) -> Stack:
    return make_guard_stack()


@pytest.fixture
def events(redis_url: str, redis_prefix: str) -> Callable[[], list[dict[str, Any]]]:
    return lambda: audit_events(redis_url, redis_prefix)
