"""Real Redis for tests: a dedicated db, a unique key prefix per test, cleaned up after.

Where Redis does not answer, tests that need it are skipped locally and FAIL
under CI=true, so a CI run can never pass by skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """Skip locally; under CI a missing dependency is a failure, never a silent skip."""
    if in_ci():
        pytest.fail(f"CI requires this: {reason}")
    pytest.skip(reason)


def real_redis_url() -> str:
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        skip_or_fail(f"real Redis not reachable at {TEST_REDIS_URL}")
    finally:
        client.close()
    return TEST_REDIS_URL


def unique_prefix() -> str:
    return f"agwtest:{uuid.uuid4().hex[:12]}:"


def delete_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def prefixed(url: str) -> Iterator[str]:
    prefix = unique_prefix()
    yield prefix
    delete_prefix(url, prefix)
