"""The fleet-wide Management API budget, over real HTTP: several gateway processes
(gunicorn workers) share one Redis token bucket, and the emulator, rate-limited with the
same figures as Auth0 would be, never answers 429."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.support.environments import gateway_env
from tests.support.processes import Gunicorn
from tests.support.redis_servers import PrivateRedis
from tests.support.servers import LiveServer

RATE, BURST = 10, 10  # the "tenant limit" of these tests: Auth0-style 10/s, burst 10
UNLIMITED_CALLERS = "100000/minute"


@pytest.fixture
def fleet(fresh_emulator: Any, redis_url: str, redis_prefix: str
          ) -> Iterator[Callable[..., Gunicorn]]:
    """Gateway processes (gunicorn workers) budgeted at the tenant's limit."""
    servers: list[Gunicorn] = []

    def start(wait_seconds: float, workers: int = 3) -> Gunicorn:
        env = gateway_env(fresh_emulator, redis_url, redis_prefix,
                          MGMT_BUDGET_RATE=str(RATE), MGMT_BUDGET_BURST=str(BURST),
                          MGMT_BUDGET_WAIT_SECONDS=str(wait_seconds),
                          RATE_LIMIT_READS=UNLIMITED_CALLERS)
        server = Gunicorn(env, workers=workers, threads=8).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def _upstream_statuses(emulator: Any) -> list[int]:
    return [e.status for e in emulator.tenant.request_log]


def _warm_up(url: str, token: str, emulator: Any) -> None:
    """Mint tokens and fetch keys in every worker, then start from a full bucket."""
    for _ in range(6):
        requests.get(url + "/api/v2/roles", headers={"Authorization": f"Bearer {token}"},
                     timeout=30)
    time.sleep(BURST / RATE + 0.2)
    emulator.tenant.reset_counters()


def _timed_get(url: str, token: str) -> tuple[int, float, str | None]:
    started = time.monotonic()
    response = requests.get(url + "/api/v2/roles", headers={"Authorization": f"Bearer {token}",
                                                            "Connection": "close"}, timeout=30)
    return response.status_code, time.monotonic() - started, response.headers.get("Retry-After")


def test_a_burst_from_several_processes_waits_instead_of_tripping_auth0(
        fresh_emulator: Any, fleet: Callable[..., Gunicorn]) -> None:
    wait_bound = 3.0
    server = fleet(wait_bound)
    token = fresh_emulator.tenant.issue_user_token("alice")
    _warm_up(server.url, token, fresh_emulator)
    fresh_emulator.tenant.faults.rate_limit(RATE, BURST)
    with ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(lambda _: _timed_get(server.url, token), range(30)))
    assert 429 not in _upstream_statuses(fresh_emulator)
    assert [status for status, _, _ in results] == [200] * 30
    assert max(elapsed for _, elapsed, _ in results) < wait_bound + 1.0


def test_three_times_the_limit_gives_zero_auth0_429s_and_near_full_use(
        fresh_emulator: Any, fleet: Callable[..., Gunicorn]) -> None:
    server = fleet(1.0)
    token = fresh_emulator.tenant.issue_user_token("alice")
    _warm_up(server.url, token, fresh_emulator)
    fresh_emulator.tenant.faults.rate_limit(RATE, BURST)
    duration, offered = 3.0, 3 * RATE
    results: list[tuple[int, float, str | None]] = []
    lock = threading.Lock()

    def fire(index: int, start: float) -> None:
        time.sleep(max(0.0, start + index / offered - time.monotonic()))
        outcome = _timed_get(server.url, token)
        with lock:
            results.append(outcome)

    start = time.monotonic() + 0.2
    with ThreadPoolExecutor(max_workers=40) as pool:
        for index in range(int(duration * offered)):
            pool.submit(fire, index, start)
    upstream = _upstream_statuses(fresh_emulator)
    assert upstream.count(429) == 0
    assert {status for status, _, _ in results} <= {200, 429}
    assert all(retry for status, _, retry in results if status == 429)
    # Near-full use: what the limit allows over the window, give or take the reserve.
    assert upstream.count(200) >= 0.75 * (RATE * duration + BURST)


def test_an_auth0_429_holds_the_whole_fleet(fresh_emulator: Any,
                                            make_gateway: Callable[..., LiveServer]) -> None:
    first = make_gateway(fresh_emulator, MGMT_BUDGET_RATE="20", MGMT_BUDGET_BURST="20",
                         MGMT_BUDGET_WAIT_SECONDS="3", UPSTREAM_429_WAIT_SECONDS="0")
    second = make_gateway(fresh_emulator, MGMT_BUDGET_RATE="20", MGMT_BUDGET_BURST="20",
                          MGMT_BUDGET_WAIT_SECONDS="3", UPSTREAM_429_WAIT_SECONDS="0")
    token = fresh_emulator.tenant.issue_user_token("alice")
    for server in (first, second):
        _timed_get(server.url, token)
    fresh_emulator.tenant.faults.send_retry_after(True)  # Retry-After: 1
    fresh_emulator.tenant.faults.fail_next(1, 429)
    status, _, _ = _timed_get(first.url, token)
    assert status == 429
    # The other instance now waits for Auth0's second instead of calling at once.
    status, elapsed, _ = _timed_get(second.url, token)
    assert status == 200 and 0.8 < elapsed < 2.5


def test_remaining_from_auth0_slows_the_fleet_when_others_use_the_limit(
        fresh_emulator: Any, make_gateway: Callable[..., LiveServer]) -> None:
    gateway = make_gateway(fresh_emulator, MGMT_BUDGET_RATE=str(RATE),
                           MGMT_BUDGET_BURST=str(BURST), MGMT_BUDGET_WAIT_SECONDS="3")
    token = fresh_emulator.tenant.issue_user_token("alice")
    _timed_get(gateway.url, token)
    time.sleep(BURST / RATE + 0.2)
    fresh_emulator.tenant.faults.rate_limit(RATE, BURST)
    bucket = fresh_emulator.tenant.faults.management_bucket
    for _ in range(BURST - 1):  # another application spends the tenant's burst
        bucket.take()
    fresh_emulator.tenant.reset_counters()
    statuses = [_timed_get(gateway.url, token)[0] for _ in range(8)]
    assert statuses == [200] * 8
    assert _upstream_statuses(fresh_emulator).count(429) == 0


def test_redis_loss_degrades_to_a_local_bucket(fresh_emulator: Any,
                                               make_gateway: Callable[..., LiveServer],
                                               private_redis: PrivateRedis) -> None:
    gateway = make_gateway(fresh_emulator, REDIS_URL=private_redis.url, MGMT_BUDGET_RATE="4",
                           MGMT_BUDGET_BURST="4", MGMT_BUDGET_FALLBACK_PROCESSES="2",
                           MGMT_BUDGET_WAIT_SECONDS="0")
    token = fresh_emulator.tenant.issue_user_token("alice")
    assert _timed_get(gateway.url, token)[0] == 200
    private_redis.stop()
    time.sleep(1.0)
    # A local bucket of 4/2 = 2/s, capacity (4 - 1) / 2: one call now, the next refused.
    statuses = [_timed_get(gateway.url, token)[0] for _ in range(4)]
    assert 500 not in statuses
    assert statuses[0] == 200 and 429 in statuses
