"""Read coalescing: identical Management reads in flight at the same moment share one call
(and one budget token); nothing outlives the call, so no answer is staler than it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from app import metrics
from app.management.client import UpstreamResult
from app.management.dispatch import Coalescer
from tests.support.stack import Stack

LATENCY = 0.6
KEY = ("get_users", "read", "/users", ())


@pytest.fixture
def stack(fresh_emulator: Any, make_gateway: Callable[..., Any]) -> Stack:
    return Stack(fresh_emulator, make_gateway(fresh_emulator), requests.Session())


def _route_calls(stack: Stack, method: str, route: str) -> int:
    return sum(1 for e in stack.upstream() if (e.method, e.route) == (method, route))


def _together(n: int, send: Callable[[], requests.Response]) -> list[requests.Response]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: send(), range(n)))


def test_identical_reads_in_flight_share_one_call(stack: Stack) -> None:
    dave = stack.user("dave")
    token = stack.token("carol")  # one token: the same caller clicking six times
    stack.tenant.faults.latency(LATENCY, "/api/v2/users/")
    answers = _together(6, lambda: stack.session.get(
        f"{stack.gateway.url}/api/v2/users/{dave}",
        headers={"Authorization": f"Bearer {token}"}, timeout=30))
    assert [a.status_code for a in answers] == [200] * 6
    assert len({a.text for a in answers}) == 1
    assert _route_calls(stack, "GET", "/api/v2/users/{id}") == 1


def test_different_queries_are_not_shared(stack: Stack) -> None:
    dave = stack.user("dave")
    stack.tenant.faults.latency(LATENCY, "/api/v2/users/")
    fields = ["user_id", "email", "name"]
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda f: stack.call("carol", "GET", f"/api/v2/users/{dave}",
                                                     params={"fields": f}), fields))
    assert [sorted(a.json()) for a in answers] == [[f] for f in fields]
    assert _route_calls(stack, "GET", "/api/v2/users/{id}") == 3


def test_a_read_after_a_write_is_a_new_call(stack: Stack) -> None:
    dave = stack.user("dave")
    assert stack.call("carol", "GET", f"/api/v2/users/{dave}").status_code == 200
    assert stack.call("carol", "PATCH", f"/api/v2/users/{dave}",
                      json={"name": "Renamed"}).status_code == 200
    assert stack.call("carol", "GET", f"/api/v2/users/{dave}").json()["name"] == "Renamed"
    assert _route_calls(stack, "GET", "/api/v2/users/{id}") == 2


def test_writes_are_never_shared(stack: Stack) -> None:
    dave = stack.user("dave")
    stack.tenant.faults.latency(LATENCY, "/api/v2/users/")
    answers = _together(3, lambda: stack.call("carol", "PATCH", f"/api/v2/users/{dave}",
                                              json={"nickname": "same"}))
    assert [a.status_code for a in answers] == [200] * 3
    assert _route_calls(stack, "PATCH", "/api/v2/users/{id}") == 3


def test_waiters_get_their_own_copy_and_the_leaders_error() -> None:
    coalescer = Coalescer()
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow() -> UpstreamResult:
        calls.append(1)
        started.set()
        release.wait(5)
        return UpstreamResult(200, {"users": [{"user_id": "a"}]})

    waiting = metrics.COALESCED_READS.labels("get_users")._value
    joined = waiting.get()
    with ThreadPoolExecutor(2) as pool:
        leader = pool.submit(coalescer.run, KEY, slow)
        started.wait(5)
        waiter = pool.submit(coalescer.run, KEY, slow)
        deadline = time.monotonic() + 5
        while waiting.get() == joined:  # until the second caller waits for the first
            assert time.monotonic() < deadline
            time.sleep(0.01)
        release.set()
        first, second = leader.result(), waiter.result()
    assert calls == [1]
    assert first.body == second.body and first.body is not second.body

    def failing() -> UpstreamResult:
        raise RuntimeError("upstream down")

    with pytest.raises(RuntimeError):
        coalescer.run(KEY, failing)
    # Nothing is kept: the next read is a call of its own.
    assert coalescer.run(KEY, lambda: UpstreamResult(200, [])).body == []
