"""Per-caller rate limits, checked in one Redis round trip together with the fleet
budget's first token (the gate).

`limit_for_request` picks the one limit a request counts against: the client IP
without a valid token, else the subject's `[limits]` entry for the operation or
its permission, else RATE_LIMIT_READS / RATE_LIMIT_WRITES (rates in the `limits`
syntax, "10/minute;100/hour"). Probes, /metrics and the API docs are never limited.

Design: docs/guardrails.md, "Per-caller rate limits"; the limits and headers:
README.md, "Rate limits"; why not flask-limiter on the hot path: docs/benchmarks.md.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, Response, g, request
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import HTTPException

from config.settings import Settings

from .. import audit, metrics
from ..auth import current_principal
from ..auth.policy import Locator
from ..catalog import NAMED, PERMISSIONS
from ..errors import Problem
from ..redis_conn import Breaker
from ..redis_conn import key as redis_key
from ..runtime import PUBLIC_ENDPOINTS
from ..state import current_operation, policy_section
from .budget import BUDGET_LUA_FUNCTIONS, RESERVATION_KEY, Bucket, FleetBudget, Reservation

log = logging.getLogger("admin_gateway.guards")

SECTION = "limits"
EXTENSION = "admin_gateway.rate_gate"
VERDICT_KEY = "rate_limit_verdict"  # the gate's per-request record, for the headers
EXEMPT_BLUEPRINTS = frozenset({"openapi"})
ANONYMOUS = "unauthenticated"


def parse_section(raw: Any, locate: Locator, problems: list[str]) -> dict[str, str]:
    """`[limits]`: operation id or permission -> rate string ("10/minute;100/hour")."""
    if not isinstance(raw, dict):
        problems.append(f"{locate.where(key=SECTION)}: [limits] must be a table")
        return {}
    limits: dict[str, str] = {}
    for name, value in raw.items():
        where = locate.where(section=(SECTION,), key=name)
        if name not in NAMED and name not in PERMISSIONS:
            problems.append(f"{where}: [limits] {name!r} is neither an operation id nor a "
                            f"permission (see README, Endpoints and Permissions)")
            continue
        try:
            if not isinstance(value, str) or not parse_many(value):
                raise ValueError
        except ValueError:
            problems.append(f"{where}: [limits] {name!r} must be a rate such as \"10/minute\" "
                            f"(several joined by ;)")
            continue
        limits[name] = value
    return limits


def _caller() -> tuple[str, str]:
    """("sub", subject) for a valid token, else ("ip", address). Never raises: a failed
    authentication is answered by the view; here it only means "count by address".
    (Authentication runs once per request: the auth extension remembers its answer.)"""
    try:
        return ("sub", current_principal().subject)
    except HTTPException:
        return ("ip", request.remote_addr or "unknown")
    except Exception:  # noqa: BLE001 - the view will report it; count as anonymous
        log.exception("authentication failed unexpectedly while rate limiting")
        return ("ip", request.remote_addr or "unknown")


def limit_for_request(settings: Settings) -> tuple[str, str]:
    """(scope, rate) of the one limit this request counts against."""
    if _caller()[0] == "ip":
        return ANONYMOUS, settings.rate_limit_unauthenticated
    overrides: dict[str, str] = policy_section(SECTION, {})
    operation = current_operation()
    if operation is not None:
        if operation.operation_id in overrides:
            return f"op:{operation.operation_id}", overrides[operation.operation_id]
        if operation.permission in overrides:
            return f"perm:{operation.permission}", overrides[operation.permission]
        write = operation.is_write
    else:
        write = request.method not in ("GET", "HEAD", "OPTIONS")
    return ("writes", settings.rate_limit_writes) if write else \
        ("reads", settings.rate_limit_reads)


# One round trip: every limit's sliding-window counter (the `limits` library's
# "sliding-window-counter": the previous window's count weighted by how much of it still
# overlaps, plus the current one), then, only when all allow, the budget's first token.
# KEYS: one hash per limit, then the budget bucket (optional). ARGV: n, then amount and
# expiry per limit, then the budget's rate, capacity, max_wait, ttl_ms.
GATE_LUA = BUDGET_LUA_FUNCTIONS + """
local now = redis_now()
local n = tonumber(ARGV[1])
local ok = 1
local states = {}
for i = 1, n do
  local amount = tonumber(ARGV[2 * i])
  local expiry = tonumber(ARGV[2 * i + 1])
  local window = math.floor(now / expiry)
  local h = redis.call('HMGET', KEYS[i], 'w', 'cur', 'prev')
  local w = tonumber(h[1])
  local cur = tonumber(h[2]) or 0
  local prev = tonumber(h[3]) or 0
  if w == nil then
    cur, prev = 0, 0
  elseif w == window - 1 then
    prev, cur = cur, 0
  elseif w ~= window then
    prev, cur = 0, 0
  end
  local count = prev * (expiry - (now - window * expiry)) / expiry + cur
  if count + 1 > amount then
    ok = 0
  end
  states[i] = {window, cur, prev, count, expiry}
end
local out = {}
for i = 1, n do
  local st = states[i]
  local cur = st[2] + ok
  redis.call('HSET', KEYS[i], 'w', st[1], 'cur', cur, 'prev', st[3])
  redis.call('EXPIRE', KEYS[i], math.ceil(2 * st[5]))
  out[#out + 1] = string.format('%.6f', st[4] + ok)
  out[#out + 1] = string.format('%.6f', (st[1] + 1) * st[5])
end
local budget = {-1, '0', '0'}
if ok == 1 and #KEYS > n then
  local b = 2 * n + 2
  budget = budget_take(KEYS[n + 1], tonumber(ARGV[b]), tonumber(ARGV[b + 1]),
                       tonumber(ARGV[b + 2]), ARGV[b + 3], now)
end
return {ok, string.format('%.6f', now), budget[1], budget[2], budget[3], unpack(out)}
"""


@dataclass(frozen=True)
class LimitState:
    item: RateLimitItem
    used: float  # the weighted count after this request
    reset: float  # epoch seconds when the current window ends

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.item.amount - self.used + 1e-9))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    now: float
    limits: tuple[LimitState, ...]
    budget: tuple[bool, float, float] | None  # the budget_take answer, when one was asked

    @property
    def shown(self) -> LimitState:
        """The limit the headers report: the closest to refusing."""
        return min(self.limits, key=lambda state: state.remaining)


class LocalWindows:
    """The per-process fallback while Redis is down: the same counters, in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int, int]] = {}  # key -> window, cur, prev

    def check(self, keys: Sequence[str], items: Sequence[RateLimitItem]
              ) -> tuple[bool, float, list[tuple[float, float]]]:
        now = time.time()
        with self._lock:
            states = []
            for key, item in zip(keys, items, strict=True):
                expiry = item.get_expiry()
                window = math.floor(now / expiry)
                w, cur, prev = self._windows.get(key, (window, 0, 0))
                if w == window - 1:
                    prev, cur = cur, 0
                elif w != window:
                    prev, cur = 0, 0
                count = prev * (expiry - (now - window * expiry)) / expiry + cur
                states.append((key, window, cur, prev, count, expiry, item.amount))
            ok = all(count + 1 <= amount for *_, count, _, amount in states)
            out = []
            for key, window, cur, prev, count, expiry, _ in states:
                self._windows[key] = (window, cur + ok, prev)
                out.append((count + ok, float((window + 1) * expiry)))
        return ok, now, out


class RateGate:
    """Per-caller limits and the budget's first token, one round trip per request."""

    def __init__(self, settings: Settings, client: redis.Redis, budget: FleetBudget) -> None:
        self.settings = settings
        self.client = client
        self.budget = budget
        self.breaker = Breaker("ratelimit")
        self.local = LocalWindows()
        self._script: Any = None

    def _keys(self, caller: str, scope: str, items: Sequence[RateLimitItem]) -> list[str]:
        return [redis_key(self.settings, "ratelimit", scope, caller,
                          f"{item.amount}/{item.get_expiry()}") for item in items]

    def check(self, caller: str, scope: str, items: Sequence[RateLimitItem],
              bucket: Bucket | None) -> Verdict:
        keys = self._keys(caller, scope, items)
        if self.breaker.closed:
            try:
                return self._remote(keys, items, bucket)
            except redis.RedisError as exc:
                self.breaker.failed(exc)
        ok, now, states = self.local.check(keys, items)
        budget = self.budget.take_local(bucket) if ok and bucket is not None else None
        return Verdict(ok, now, tuple(LimitState(item, used, reset) for item, (used, reset)
                                      in zip(items, states, strict=True)), budget)

    def _remote(self, keys: list[str], items: Sequence[RateLimitItem],
                bucket: Bucket | None) -> Verdict:
        if self._script is None:
            self._script = self.client.register_script(GATE_LUA)  # first use: cluster-safe
        args = [str(len(items))]
        for item in items:
            args += [str(item.amount), str(item.get_expiry())]
        if bucket is not None:
            key, budget_args = self.budget.key_and_args(bucket)
            keys = [*keys, key]
            args += budget_args
        ok, now, b_allowed, b_wait, b_tokens, *pairs = self._script(keys=keys, args=args)
        self.breaker.succeeded()
        states = tuple(LimitState(item, float(pairs[2 * i]), float(pairs[2 * i + 1]))
                       for i, item in enumerate(items))
        budget = None if int(b_allowed) < 0 else (bool(int(b_allowed)), float(b_wait),
                                                  float(b_tokens))
        return Verdict(bool(int(ok)), float(now), states, budget)


@functools.lru_cache(maxsize=64)
def _items(rate: str) -> tuple[RateLimitItem, ...]:
    """The parsed rate string (a handful of distinct ones: settings and `[limits]`)."""
    return tuple(parse_many(rate))


def _exempt() -> bool:
    return (request.endpoint in PUBLIC_ENDPOINTS or request.blueprint in EXEMPT_BLUEPRINTS
            or request.method == "OPTIONS")  # CORS preflights carry no token


def _refusal(scope: str, state: LimitState, now: float) -> Problem:
    metrics.RATE_LIMITED.labels(scope).inc()
    who = "this client address" if scope == ANONYMOUS else "you"
    what = {"reads": "read requests", "writes": "write requests",
            ANONYMOUS: "requests without a valid token"}.get(scope, scope.partition(":")[2])
    detail = f"Rate limit for {what} reached ({state.item} for {who}); see Retry-After."
    # Refused before the facade's pipeline runs: the audit trail hears of it here.
    audit.record_refusal(current_operation(), 429, "rate-limited", detail)
    return Problem(429, detail, slug="rate-limited", extra={"limit": str(state.item)},
                   headers={"Retry-After": str(max(1, math.ceil(state.reset - now)))})


def admit(gate: RateGate) -> None:
    """before_request: count this request; reserve its first Management token with it."""
    if _exempt():
        return
    kind, who = _caller()
    scope, rate = limit_for_request(gate.settings)
    operation = current_operation()
    # Only a caller with a valid token reaching a catalog route may get to Auth0.
    bucket = gate.budget.bucket_for(operation) if kind == "sub" and operation else None
    verdict = gate.check(f"{kind}:{who}", scope, _items(rate), bucket)
    g.setdefault(VERDICT_KEY, verdict)
    if not verdict.allowed:
        raise _refusal(scope, verdict.shown, verdict.now)
    if bucket is not None and verdict.budget is not None and verdict.budget[0]:
        # A token for the first Management call. When the fleet's budget has none to give
        # now, nothing is reserved and nothing refused here: a request answered without
        # Auth0 (the read cache, a validation error) must not wait for it; the call itself
        # asks the budget again (and answers 429 when it is still used up).
        wait = gate.budget.granted(bucket, *verdict.budget)
        g.setdefault(RESERVATION_KEY, Reservation(bucket, time.monotonic() + wait))


def finish(gate: RateGate, response: Response) -> Response:
    """after_request: the limit headers from the one check, and the reserved token back
    when no Management call used it."""
    reservation = g.get(RESERVATION_KEY)
    if isinstance(reservation, Reservation) and not reservation.used:
        reservation.used = True
        gate.budget.refund(reservation.bucket)
    verdict = g.get(VERDICT_KEY)
    if isinstance(verdict, Verdict):
        shown = verdict.shown
        # Auth0's own x-ratelimit-* spelling (reset as an epoch), and the IETF draft's
        # RateLimit-* (reset as seconds from now).
        response.headers["X-RateLimit-Limit"] = str(shown.item.amount)
        response.headers["X-RateLimit-Remaining"] = str(shown.remaining)
        response.headers["X-RateLimit-Reset"] = str(math.ceil(shown.reset))
        response.headers["RateLimit-Limit"] = str(shown.item.amount)
        response.headers["RateLimit-Remaining"] = str(shown.remaining)
        response.headers["RateLimit-Reset"] = str(max(0, math.ceil(shown.reset - verdict.now)))
    return response


def init_app(app: Flask, settings: Settings, budget: FleetBudget,
             client: redis.Redis) -> RateGate | None:
    if not settings.rate_limits_enabled:
        return None
    gate = RateGate(settings, client, budget)
    app.before_request(lambda: admit(gate))
    app.after_request(lambda response: finish(gate, response))
    app.extensions[EXTENSION] = gate
    return gate
