"""Single flight: on a cold cache exactly one mint per tier, across threads and processes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import defaultdict
from typing import Any

import pytest
import redis

from app.errors import Problem
from app.management.broker import LOCK_NAMESPACE, TokenBroker, cache_digest
from app.redis_conn import key
from tests.support import stampede_worker
from tests.support.brokers import BrokerFactory, TokenEndpointRecorder

ONE_EACH = {"gateway-read": 1, "gateway-write": 1, "gateway-admin": 1}


def stampede(brokers: list[TokenBroker], threads_per_broker: int
             ) -> dict[str, set[str]]:
    """Start every thread at once; each asks for one tier's token. Tokens seen per tier."""
    tiers = brokers[0].settings.tiers
    barrier = threading.Barrier(len(brokers) * threads_per_broker)
    seen: dict[str, set[str]] = defaultdict(set)
    errors: list[BaseException] = []

    def call(broker: TokenBroker, i: int) -> None:
        tier = tiers[i % len(tiers)]
        barrier.wait()
        try:
            seen[tier.name].add(broker.get_token(tier))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(b, i))
               for b in brokers for i in range(threads_per_broker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return seen


def test_fifty_threads_on_a_cold_cache_mint_once_per_tier(make_broker: BrokerFactory,
                                                          tenant: Any) -> None:
    tenant.faults.latency(0.3, path_prefix="/oauth/token")  # a wide race window
    seen = stampede([make_broker()], 50)
    assert dict(tenant.tokens_issued) == ONE_EACH
    assert all(len(tokens) == 1 for tokens in seen.values())


def test_several_brokers_in_one_process_share_through_redis(make_broker: BrokerFactory,
                                                            tenant: Any) -> None:
    tenant.faults.latency(0.3, path_prefix="/oauth/token")
    seen = stampede([make_broker() for _ in range(5)], 10)
    assert dict(tenant.tokens_issued) == ONE_EACH
    assert all(len(tokens) == 1 for tokens in seen.values())


@pytest.mark.slow
def test_several_processes_on_a_cold_cache_mint_once_per_tier(make_broker: BrokerFactory,
                                                               tenant: Any) -> None:
    tenant.faults.latency(0.3, path_prefix="/oauth/token")
    context = multiprocessing.get_context("spawn")
    processes_count, threads = 3, 12
    barrier = context.Barrier(processes_count)
    results = context.Queue()
    processes = [context.Process(target=stampede_worker.run,
                                 args=(make_broker.env(), threads, barrier, results))
                 for _ in range(processes_count)]
    for process in processes:
        process.start()
    got = [item for _ in processes for item in results.get(timeout=90)]
    for process in processes:
        process.join(timeout=30)
    assert len(got) == processes_count * threads
    assert not [token for _, token in got if token.startswith("error")]
    assert dict(tenant.tokens_issued) == ONE_EACH
    per_tier: dict[str, set[str]] = defaultdict(set)
    for tier, token in got:
        per_tier[tier].add(token)
    assert all(len(tokens) == 1 for tokens in per_tier.values())


def test_a_lock_left_by_a_crashed_minter_is_waited_out(make_broker: BrokerFactory,
                                                       redis_url: str, tenant: Any) -> None:
    broker = make_broker(TOKEN_MINT_WAIT_SECONDS="0.4")
    read = broker.settings.tier("read")
    lock_key = key(broker.settings, LOCK_NAMESPACE, cache_digest(broker.settings, read))
    client = redis.Redis.from_url(redis_url)
    client.set(lock_key, "a-process-that-died", px=30_000)
    started = time.monotonic()
    assert broker.get_token(read)
    assert 0.4 <= time.monotonic() - started < 5
    assert tenant.tokens_issued["gateway-read"] == 1
    # Released by compare-and-delete only: someone else's lock is left alone.
    assert client.get(lock_key) == b"a-process-that-died"
    assert [s.cached for s in make_broker().status() if s.tier == "read"] == ["l2"]


def test_when_the_minter_fails_a_waiter_mints_without_waiting_it_out(
        make_broker: BrokerFactory, tenant: Any) -> None:
    tenant.faults.latency(0.3, path_prefix="/oauth/token")
    tenant.faults.fail_next(1, 500, path_prefix="/oauth/token")
    brokers = [make_broker(TOKEN_MINT_WAIT_SECONDS="10") for _ in range(2)]
    read = brokers[0].settings.tier("read")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def call(broker: TokenBroker) -> None:
        barrier.wait()
        try:
            outcomes.append("token" if broker.get_token(read) else "empty")
        except Problem as problem:
            outcomes.append(f"problem {problem.code}")

    started = time.monotonic()
    threads = [threading.Thread(target=call, args=(b,)) for b in brokers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["problem 502", "token"]
    assert time.monotonic() - started < 6  # not the 10 s wait
    assert tenant.tokens_issued["gateway-read"] == 1


def test_threads_share_one_flight_and_its_failure(make_broker: BrokerFactory, tenant: Any,
                                                  token_recorder: TokenEndpointRecorder) -> None:
    tenant.faults.latency(1.0, path_prefix="/oauth/token")
    tenant.faults.fail_next(1, 500, path_prefix="/oauth/token")
    broker = make_broker(AUTH0_DOMAIN=token_recorder.domain,
                         AUTH0_MANAGEMENT_AUDIENCE=tenant.management_audience)
    read = broker.settings.tier("read")
    barrier = threading.Barrier(10)
    outcomes: list[int] = []

    def call() -> None:
        barrier.wait()
        try:
            broker.get_token(read)
            outcomes.append(200)
        except Problem as problem:
            outcomes.append(problem.code or 0)

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [502] * 10
    assert len(token_recorder.forms) == 1  # one request to Auth0 for the ten callers
    assert broker.get_token(read)  # the failure was not cached
    assert len(token_recorder.forms) == 2
