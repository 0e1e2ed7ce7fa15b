"""Redis stopped mid-run: tokens keep coming (minted here, kept in L1); recovery afterwards."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.support.brokers import BrokerFactory
from tests.support.metrics import metric
from tests.support.redis_servers import PrivateRedis

BROKER_LOG = "admin_gateway.token_broker"


def test_redis_down_is_a_cache_miss_and_redis_back_is_used_again(
        make_broker: BrokerFactory, private_redis: PrivateRedis, tenant: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    on_private = {"REDIS_URL": private_redis.url}
    running = make_broker(**on_private)
    read = running.settings.tier("read")
    token = running.get_token(read)

    private_redis.stop()
    errors = metric("agw_redis_errors_total", component="token_broker")
    assert running.get_token(read) == token  # L1: Redis is not even asked

    started_now = make_broker(**on_private)  # a process (re)started during the outage
    with caplog.at_level(logging.INFO, logger=BROKER_LOG):
        tokens = {tier.name: started_now.get_token(tier) for tier in started_now.settings.tiers}
        for _ in range(50):
            assert started_now.get_token(read) == tokens["read"]
        started_now.invalidate(read, tokens["read"])
        statuses = started_now.status()
    assert len(tokens) == 3
    assert [s.cached for s in statuses] == ["none", "l1", "l1"]
    assert metric("agw_redis_errors_total", component="token_broker") >= errors + 3
    outage_lines = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(outage_lines) == 1  # rate-limited, not one line per failure
    assert "redis://" not in caplog.text
    assert tenant.tokens_issued["gateway-read"] == 2

    private_redis.start()  # back, empty (no persistence)
    errors = metric("agw_redis_errors_total", component="token_broker")
    fresh = started_now.get_token(read)  # its L1 entry was invalidated: Redis again
    assert make_broker(**on_private).get_token(read) == fresh  # shared through Redis
    assert [s.cached for s in make_broker(**on_private).status()][0] == "l2"
    assert metric("agw_redis_errors_total", component="token_broker") == errors
    assert tenant.tokens_issued["gateway-read"] == 3
