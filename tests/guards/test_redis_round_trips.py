"""A warm read costs one Redis round trip: the per-caller limit, the header values and the
fleet budget's token come from one script (counted by Redis itself, not timed)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import redis
import requests

from tests.support.redis_servers import PrivateRedis
from tests.support.stack import Stack


class Sent:
    """The commands clients send to Redis while inside the block (MONITOR: commands a
    script runs are marked `lua` and not counted — they cost no round trip)."""

    MARKER = "round-trip-count-end"

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        # Its own connection, open before counting starts (a new one would say HELLO).
        self.marker = redis.Redis(connection_pool=redis.ConnectionPool(
            **client.connection_pool.connection_kwargs))
        self.commands: list[str] = []

    def __enter__(self) -> Sent:
        self.marker.ping()
        self._monitor = self.client.monitor()
        self._connection = self._monitor.__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        while True:
            entry = self._connection.next_command()
            if self.MARKER in entry["command"]:
                return
            if entry.get("client_type") != "lua":
                self.commands.append(entry["command"].split()[0].lower())

    def __exit__(self, *exc: object) -> None:
        self.marker.echo(self.MARKER)
        self._thread.join(10)
        self._monitor.__exit__(None, None, None)
        self.marker.close()


def _stack(fresh_emulator: Any, make_gateway: Callable[..., Any],
           private_redis: PrivateRedis, **overrides: str) -> tuple[Stack, redis.Redis]:
    gateway = make_gateway(fresh_emulator, REDIS_URL=private_redis.url, **overrides)
    return (Stack(fresh_emulator, gateway, requests.Session()),
            redis.Redis.from_url(private_redis.url))


def test_a_warm_read_is_one_round_trip(fresh_emulator: Any, make_gateway: Callable[..., Any],
                                       private_redis: PrivateRedis) -> None:
    stack, client = _stack(fresh_emulator, make_gateway, private_redis)
    path = f"/api/v2/users/{stack.user('dave')}"
    assert stack.call("carol", "GET", path).status_code == 200  # warm: token, scripts
    with Sent(client) as sent:
        response = stack.call("carol", "GET", path)
    assert response.status_code == 200, response.text
    assert response.headers["X-RateLimit-Remaining"]  # headers from the same script
    assert sent.commands == ["evalsha"]


def test_a_warm_scoped_read_is_one_round_trip(fresh_emulator: Any,
                                              make_gateway: Callable[..., Any],
                                              private_redis: PrivateRedis) -> None:
    """The scope check's read is the answer, and it spends the token the gate reserved."""
    stack, client = _stack(fresh_emulator, make_gateway, private_redis)
    path = f"/api/v2/users/{stack.user('dave')}"
    assert stack.call("alice", "GET", path).status_code == 200
    with Sent(client) as sent:
        assert stack.call("alice", "GET", path).status_code == 200
    assert sent.commands == ["evalsha"]


def test_a_request_that_never_reaches_auth0_gives_its_token_back(
        fresh_emulator: Any, make_gateway: Callable[..., Any],
        private_redis: PrivateRedis) -> None:
    # A refill too slow to hide a missing refund (0.01 token/s).
    stack, client = _stack(fresh_emulator, make_gateway, private_redis,
                           MGMT_BUDGET_RATE="0.01", MGMT_BUDGET_BURST="50")
    stack.call("carol", "GET", "/api/v2/users", params={"q": "a~"})  # warm: scripts loaded
    bucket = next(k for k in client.keys("*budget*"))
    before = float(client.hget(bucket, "tokens") or 0)
    with Sent(client) as sent:
        refused = stack.call("carol", "GET", "/api/v2/users", params={"q": "a~"})
    assert refused.status_code == 400
    after = float(client.hget(bucket, "tokens") or 0)
    assert after >= before  # taken with the limit, given back at the end
    assert sent.commands == ["evalsha", "evalsha"]
