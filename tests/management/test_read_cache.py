"""The optional read cache (MGMT_READ_CACHE_SECONDS): shared by the fleet in Redis,
encrypted, invalidated by every write the gateway sends, bypassed by `Cache-Control:
no-cache`, and never a way around delegated scope."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
import requests

from tests.support.stack import Stack


@pytest.fixture
def make_cached(fresh_emulator: Any, make_gateway: Callable[..., Any]) -> Callable[..., Stack]:
    def make(seconds: str = "5") -> Stack:
        gateway = make_gateway(fresh_emulator, MGMT_READ_CACHE_SECONDS=seconds)
        return Stack(fresh_emulator, gateway, requests.Session())
    return make


def _calls(stack: Stack, method: str, route: str) -> int:
    return sum(1 for e in stack.upstream() if (e.method, e.route) == (method, route))


def test_a_repeated_read_is_served_from_the_cache(make_cached: Callable[..., Stack]) -> None:
    stack = make_cached()
    path = f"/api/v2/users/{stack.user('dave')}"
    first, second = (stack.call("carol", "GET", path) for _ in range(2))
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert _calls(stack, "GET", "/api/v2/users/{id}") == 1


def test_a_write_through_the_gateway_invalidates_the_user_and_searches(
        make_cached: Callable[..., Stack]) -> None:
    stack = make_cached()
    dave = stack.user("dave")
    params = {"q": 'name:"Dave Diaz"'}
    assert stack.call("carol", "GET", f"/api/v2/users/{dave}").status_code == 200
    assert stack.call("carol", "GET", "/api/v2/users", params=params).status_code == 200
    assert stack.call("carol", "PATCH", f"/api/v2/users/{dave}",
                      json={"name": "Dave Renamed"}).status_code == 200
    assert stack.call("carol", "GET", f"/api/v2/users/{dave}").json()["name"] == "Dave Renamed"
    assert stack.call("carol", "GET", "/api/v2/users", params=params).json() == []
    assert _calls(stack, "GET", "/api/v2/users/{id}") == 2
    assert _calls(stack, "GET", "/api/v2/users") == 2


def test_no_cache_reads_fresh(make_cached: Callable[..., Stack]) -> None:
    stack = make_cached()
    path = f"/api/v2/users/{stack.user('dave')}"
    stack.call("carol", "GET", path)
    stack.tenant.users[stack.user("dave")]["nickname"] = "changed-outside-the-gateway"
    cached = stack.call("carol", "GET", path).json()
    fresh = stack.call("carol", "GET", path, headers={"Cache-Control": "no-cache"}).json()
    assert cached["nickname"] != "changed-outside-the-gateway"
    assert fresh["nickname"] == "changed-outside-the-gateway"
    assert _calls(stack, "GET", "/api/v2/users/{id}") == 2


def test_a_cached_answer_is_never_a_way_around_scope(make_cached: Callable[..., Stack]) -> None:
    stack = make_cached()
    outsider = next(uid for uid, u in stack.tenant.users.items()
                    if u["app_metadata"].get("department") == "sales")
    # carol (unrestricted) reads the user: the answer is cached...
    assert stack.call("carol", "GET", f"/api/v2/users/{outsider}").status_code == 200
    # ...and alice (support) still gets Auth0's 404 for it, cache or not.
    outside = stack.call("alice", "GET", f"/api/v2/users/{outsider}")
    assert outside.status_code == 404
    assert outside.json()["detail"] == "The user does not exist."


def test_entries_are_encrypted_and_expire(make_cached: Callable[..., Stack], redis_url: str,
                                          redis_prefix: str) -> None:
    stack = make_cached("1")
    dave = stack.user("dave")
    stack.call("carol", "GET", f"/api/v2/users/{dave}")
    client = redis.Redis.from_url(redis_url)
    entries = list(client.scan_iter(redis_prefix + "read:*"))
    assert entries
    email = stack.tenant.users[dave]["email"].encode()
    assert all(email not in (client.get(key) or b"") for key in entries)
    time.sleep(1.3)
    stack.call("carol", "GET", f"/api/v2/users/{dave}")
    assert _calls(stack, "GET", "/api/v2/users/{id}") == 2


def test_off_by_default(make_gateway: Callable[..., Any], fresh_emulator: Any, redis_url: str,
                        redis_prefix: str) -> None:
    stack = Stack(fresh_emulator, make_gateway(fresh_emulator), requests.Session())
    path = f"/api/v2/users/{stack.user('dave')}"
    stack.call("carol", "GET", path)
    stack.call("carol", "GET", path)
    assert _calls(stack, "GET", "/api/v2/users/{id}") == 2
    assert not list(redis.Redis.from_url(redis_url).scan_iter(redis_prefix + "read:*"))


def test_a_cached_answer_needs_no_budget(fresh_emulator: Any,
                                         make_gateway: Callable[..., Any]) -> None:
    """With the fleet budget used up, a read the cache answers is still served; a read that
    needs Auth0 gets the budget's 429 (the gate reserves a token only when there is one)."""
    gateway = make_gateway(fresh_emulator, MGMT_READ_CACHE_SECONDS="5",
                           MGMT_BUDGET_RATE="0.05", MGMT_BUDGET_BURST="1",
                           MGMT_BUDGET_WAIT_SECONDS="0")
    stack = Stack(fresh_emulator, gateway, requests.Session())
    path = f"/api/v2/users/{stack.user('dave')}"
    assert stack.call("carol", "GET", path).status_code == 200  # spends the only token
    assert stack.call("carol", "GET", path).status_code == 200  # from the cache
    other = stack.call("carol", "GET", f"/api/v2/users/{stack.user('erin')}")
    assert other.status_code == 429, other.text
    assert other.json()["type"].endswith("/budget-exhausted")
    assert _calls(stack, "GET", "/api/v2/users/{id}") == 1
