"""The fleet-wide Management API budget: one token bucket in Redis shared by every
gateway process, sized to the tenant's Auth0 plan (MGMT_PLAN). The Management
client calls `acquire` before every attempt (a short wait, or 429) and `learn`
with every answer's rate-limit headers; while Redis is down each process uses a
local share of the bucket.

Design: docs/guardrails.md, "Fleet-wide Management API budget"; plans and
settings: README.md, "Management API budget".
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, g, has_request_context

from config.settings import ConfigError, Settings

from .. import metrics
from ..catalog import Operation
from ..errors import Problem
from ..management.client import retry_after_seconds
from ..management.transport import UpstreamResponse
from ..redis_conn import Breaker
from ..redis_conn import key as redis_key

log = logging.getLogger("admin_gateway.budget")

RESERVE_FRACTION = 0.1
# Where the gate leaves the request's reserved token: the limiter's own per-request
# record, set before the view runs (as a Flask extension keeps its per-request state).
RESERVATION_KEY = "budget_reservation"
# Refill a little slower than Auth0: a reserve lost to a long stall (a request sent
# late lets Auth0's bucket hit its cap and waste refill) grows back by itself.
RATE_FACTOR = 0.95
MAX_DRAIN_SECONDS = 60.0
IDLE_TTL_SECONDS = 120

# Lua functions shared by the budget's scripts and the per-request gate
# (app/guards/ratelimit.py), so that a request's first token can be taken in the same
# round trip as its rate limit. Numbers go back as strings: Lua numbers become integers.
BUDGET_LUA_FUNCTIONS = """
local function budget_refill(key, rate, capacity, now)
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil or ts == nil then
    tokens = capacity
    ts = now
  end
  if now > ts then
    tokens = math.min(capacity, tokens + (now - ts) * rate)
  end
  return tokens
end
local function budget_store(key, tokens, now, ttl_ms)
  redis.call('HSET', key, 'tokens', string.format('%.6f', tokens),
             'ts', string.format('%.6f', now))
  redis.call('PEXPIRE', key, ttl_ms)
end
-- Take one token (possibly reserving a future one) when the wait is within max_wait.
local function budget_take(key, rate, capacity, max_wait, ttl_ms, now)
  local tokens = budget_refill(key, rate, capacity, now)
  local wait = 0
  if tokens < 1 then
    wait = (1 - tokens) / rate
  end
  if wait > max_wait then
    return {0, string.format('%.6f', wait), string.format('%.6f', tokens)}
  end
  tokens = tokens - 1
  budget_store(key, tokens, now, ttl_ms)
  return {1, string.format('%.6f', wait), string.format('%.6f', tokens)}
end
local function redis_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# KEYS[1] the bucket; ARGV rate, capacity, max_wait, ttl_ms.
TAKE_LUA = BUDGET_LUA_FUNCTIONS + """
return budget_take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
                   ARGV[4], redis_now())
"""

# Refill, then lower the tokens to at most ARGV[3] (never raise them).
CLAMP_LUA = BUDGET_LUA_FUNCTIONS + """
local now = redis_now()
local tokens = budget_refill(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), now)
local cap = tonumber(ARGV[3])
if cap < tokens then
  tokens = cap
end
budget_store(KEYS[1], tokens, now, ARGV[4])
return string.format('%.6f', tokens)
"""

# Refill, then give back one token a request took but never used (at most capacity).
REFUND_LUA = BUDGET_LUA_FUNCTIONS + """
local now = redis_now()
local capacity = tonumber(ARGV[2])
local tokens = math.min(capacity, budget_refill(KEYS[1], tonumber(ARGV[1]), capacity, now) + 1)
budget_store(KEYS[1], tokens, now, ARGV[4])
return string.format('%.6f', tokens)
"""


@dataclass(frozen=True)
class Bucket:
    """One of Auth0's buckets as the gateway mirrors it."""

    name: str
    rate: float  # tokens per second
    burst: int

    @property
    def reserve(self) -> int:
        return 0 if self.burst <= 1 else max(1, round(self.burst * RESERVE_FRACTION))

    @property
    def capacity(self) -> int:
        return self.burst - self.reserve

    @property
    def gateway_rate(self) -> float:
        return self.rate * RATE_FACTOR

    def describe(self) -> str:
        return (f"{self.name}: Auth0 {self.rate:g}/s ({self.rate * 60:g}/min) burst "
                f"{self.burst}; gateway {self.gateway_rate:g}/s burst {self.capacity} "
                f"(reserve {self.reserve})")


PLANS: dict[str, tuple[Bucket, ...]] = {
    "free": (Bucket("all", 2.0, 2),),
    "enterprise": (Bucket("all", 16.0, 50),),
    "enterprise-nonprod": (Bucket("all", 2.0, 10),),
    "essentials": (Bucket("users-read", 500 / 60, 40), Bucket("users-write", 200 / 60, 20),
                   Bucket("other", 150 / 60, 10)),
}


@dataclass(frozen=True)
class BudgetPlan:
    buckets: dict[str, Bucket]
    classify: Callable[[Operation], str]


def _single(_: Operation) -> str:
    return "all"


def _essentials(operation: Operation) -> str:
    return operation.budget_group  # the catalog names each operation's Essentials group


def budget_plan(settings: Settings) -> BudgetPlan:
    """The buckets for MGMT_PLAN and the overrides; ConfigError when `custom` has no rate."""
    if settings.mgmt_budget_rate > 0:
        burst = settings.mgmt_budget_burst or max(1, math.ceil(settings.mgmt_budget_rate))
        return BudgetPlan({"all": Bucket("all", settings.mgmt_budget_rate, burst)}, _single)
    if settings.mgmt_plan == "custom":
        raise ConfigError(["MGMT_BUDGET_RATE must be above 0 when MGMT_PLAN=custom, e.g. 16"])
    buckets = PLANS[settings.mgmt_plan]
    if settings.mgmt_budget_burst:
        buckets = tuple(Bucket(b.name, b.rate, settings.mgmt_budget_burst) for b in buckets)
    classify = _essentials if settings.mgmt_plan == "essentials" else _single
    return BudgetPlan({b.name: b for b in buckets}, classify)


class LocalBucket:
    """The per-process fallback: the same reservation semantics, in memory."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, max_wait: float) -> tuple[bool, float, float]:
        with self._lock:
            self._refill()
            wait = (1 - self.tokens) / self.rate if self.tokens < 1 else 0.0
            if wait > max_wait:
                return False, wait, self.tokens
            self.tokens -= 1
            return True, wait, self.tokens

    def clamp(self, cap: float) -> None:
        with self._lock:
            self._refill()
            self.tokens = min(self.tokens, cap)

    def refund(self) -> None:
        with self._lock:
            self._refill()
            self.tokens = min(self.capacity, self.tokens + 1)


@dataclass
class Reservation:
    """A token the gate took with the request's rate limit, for its first Management call
    (same bucket); given back at the end when no call used it."""

    bucket: Bucket
    ready_at: float  # monotonic time the token may be spent (a reserved future token)
    used: bool = False


@dataclass
class _Estimate:
    """What this process last saw of a bucket, to skip pointless clamps."""

    tokens: float
    at: float


class FleetBudget:
    def __init__(self, settings: Settings, client: redis.Redis, plan: BudgetPlan) -> None:
        self.settings = settings
        self.client = client
        self.plan = plan
        self.max_wait = settings.mgmt_budget_wait_seconds
        processes = max(1, settings.mgmt_budget_fallback_processes)
        self.local = {
            name: LocalBucket(b.gateway_rate / processes, max(1.0, b.capacity / processes))
            for name, b in plan.buckets.items()}
        self.breaker = Breaker("budget")
        self._scripts: tuple[Any, Any, Any] | None = None
        self._estimates: dict[str, _Estimate] = {}

    def _key(self, bucket: Bucket) -> str:
        return redis_key(self.settings, "budget", bucket.name)

    def _ttl_ms(self, bucket: Bucket) -> str:
        return str(int((bucket.capacity / bucket.gateway_rate + self.max_wait + MAX_DRAIN_SECONDS
                        + IDLE_TTL_SECONDS) * 1000))

    def _script(self, index: int) -> Any:
        if self._scripts is None:
            # Created on first use: on a cluster URL this resolves the client.
            self._scripts = (self.client.register_script(TAKE_LUA),
                             self.client.register_script(CLAMP_LUA),
                             self.client.register_script(REFUND_LUA))
        return self._scripts[index]

    def bucket_for(self, operation: Operation) -> Bucket:
        return self.plan.buckets[self.plan.classify(operation)]

    def key_and_args(self, bucket: Bucket) -> tuple[str, list[str]]:
        """The bucket's key and budget_take's rate, capacity, max_wait, ttl_ms (for the gate's
        combined script too)."""
        return self._key(bucket), [repr(bucket.gateway_rate), str(bucket.capacity),
                                   repr(self.max_wait), self._ttl_ms(bucket)]

    def _take(self, bucket: Bucket) -> tuple[bool, float, float]:
        if self.breaker.closed:
            try:
                key, args = self.key_and_args(bucket)
                allowed, wait, tokens = self._script(0)(keys=[key], args=args)
                self.breaker.succeeded()
                return bool(int(allowed)), float(wait), float(tokens)
            except redis.RedisError as exc:
                self.breaker.failed(exc)
        return self.local[bucket.name].take(self.max_wait)

    def _clamp(self, bucket: Bucket, cap: float) -> None:
        if self.breaker.closed:
            try:
                self._script(1)(keys=[self._key(bucket)],
                                args=[repr(bucket.gateway_rate), str(bucket.capacity), repr(cap),
                                      self._ttl_ms(bucket)])
                self.breaker.succeeded()
                return
            except redis.RedisError as exc:
                self.breaker.failed(exc)
        self.local[bucket.name].clamp(cap)

    def take_local(self, bucket: Bucket) -> tuple[bool, float, float]:
        """The process's share of the bucket (while Redis is down)."""
        return self.local[bucket.name].take(self.max_wait)

    def granted(self, bucket: Bucket, allowed: bool, wait: float, tokens: float) -> float:
        """Account for a take (here or in the gate): the wait before the token may be spent,
        or the 429 when the fleet's budget is used up."""
        if not allowed:
            metrics.BUDGET_WAITS.labels("refused").inc()
            seconds = max(1, math.ceil(wait))
            raise Problem(429, f"The gateway fleet's Management API budget ({bucket.name}: "
                               f"{bucket.rate:g} requests/s) is used up; retry in {seconds} s.",
                          slug="budget-exhausted", headers={"Retry-After": str(seconds)})
        self._estimates[bucket.name] = _Estimate(tokens, time.monotonic())
        metrics.BUDGET_WAITS.labels("waited" if wait > 0 else "immediate").inc()
        return wait

    def acquire(self, operation: Operation) -> None:
        """Wait for a token within MGMT_BUDGET_WAIT_SECONDS, or 429. A token the gate already
        took for this request (same bucket, not yet used) is spent first."""
        bucket = self.bucket_for(operation)
        reservation = pending_reservation()
        if reservation is not None and not reservation.used and reservation.bucket == bucket:
            reservation.used = True
            delay = reservation.ready_at - time.monotonic()
        else:
            delay = self.granted(bucket, *self._take(bucket))
        if delay > 0:
            time.sleep(delay)

    def refund(self, bucket: Bucket) -> None:
        """Give back a reserved token no Management call used."""
        if self.breaker.closed:
            try:
                key, args = self.key_and_args(bucket)
                self._script(2)(keys=[key], args=args)
                self.breaker.succeeded()
                return
            except redis.RedisError as exc:
                self.breaker.failed(exc)
        self.local[bucket.name].refund()

    def learn(self, operation: Operation, response: UpstreamResponse) -> None:
        """Follow what Auth0 says about its own bucket."""
        bucket = self.bucket_for(operation)
        if response.status == 429:
            wait = min(MAX_DRAIN_SECONDS,
                       max(1 / bucket.rate, retry_after_seconds(response.headers)))
            log.warning("Auth0 answered 429 on %s; holding the %s budget for %.2f s",
                        operation.operation_id, bucket.name, wait)
            self._clamp(bucket, -wait * bucket.gateway_rate)
            return
        remaining = _int_header(response, "x-ratelimit-remaining")
        if remaining is None:
            return
        # Auth0's bucket holds `remaining` + a fraction; ours should be `reserve` lower, plus
        # what refilled while the answer travelled back.
        cap = remaining + 1 - bucket.reserve + bucket.rate * response.elapsed
        estimate = self._estimates.get(bucket.name)
        believed = (bucket.capacity if estimate is None else
                    min(bucket.capacity,
                        estimate.tokens + (time.monotonic() - estimate.at) * bucket.gateway_rate))
        if cap < believed:
            self._clamp(bucket, cap)


def pending_reservation() -> Reservation | None:
    """The token the gate reserved for this request (app/guards/ratelimit.py), if any."""
    if not has_request_context():
        return None
    found = g.get(RESERVATION_KEY)
    return found if isinstance(found, Reservation) else None


def _int_header(response: UpstreamResponse, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


EXTENSION = "admin_gateway.budget"


def init_app(app: Flask, settings: Settings, redis_client: redis.Redis) -> FleetBudget:
    """The process's budget; the factory hands it to the Management client."""
    budget = FleetBudget(settings, redis_client, budget_plan(settings))
    app.extensions[EXTENSION] = budget
    return budget


def describe_budget(settings: Settings) -> tuple[bool, list[str]]:
    try:
        plan = budget_plan(settings)
    except ConfigError as exc:
        return False, exc.problems
    lines = [f"plan {settings.mgmt_plan}" + (" (overridden by MGMT_BUDGET_RATE)"
                                             if settings.mgmt_budget_rate > 0 else "")]
    lines += [bucket.describe() for bucket in plan.buckets.values()]
    lines.append(f"wait at most {settings.mgmt_budget_wait_seconds:g} s; without Redis each "
                 f"process takes 1/{settings.mgmt_budget_fallback_processes} of the rate")
    return True, lines
