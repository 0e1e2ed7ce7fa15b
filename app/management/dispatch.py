"""The one way to Auth0's Management API: the start-up tier plan and the pooled client.

The facade sends each call here, and the guardrails read what they must check
(a target user, role names) through the same tiers, budget and error mapping.
Identical reads in flight at the same moment share one Management call
(`Coalescer`; docs/token-broker.md, "Read coalescing").
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any
from urllib.parse import quote

from config.settings import TierConfig

from .. import metrics
from ..catalog import Operation
from .client import ManagementClient, UpstreamResult
from .read_cache import ReadCache
from .tiers import TierPlan


def upstream_path(operation: Operation, path_params: dict[str, str]) -> str:
    """Auth0's path with every parameter percent-encoded as ONE segment.

    `auth0|123` stays one segment; `/`, `%2F`, `..`, NUL and control characters
    can never change which upstream path is called (validation already refuses
    most of them; encoding with safe="" is the second wall).
    """
    return operation.path.format(**{name: quote(value, safe="")
                                    for name, value in path_params.items()})


ReadKey = tuple[str, str, str, tuple[tuple[str, str], ...]]  # operation, tier, path, query


class Coalescer:
    """Single flight for reads: the first caller of a key sends, callers arriving while it
    is in flight wait for its answer (or its error). Nothing is kept once it lands, so no
    answer is ever staler than the call that was already on its way."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[ReadKey, Future[UpstreamResult]] = {}

    def run(self, key: ReadKey, send: Callable[[], UpstreamResult]) -> UpstreamResult:
        with self._lock:
            pending = self._in_flight.get(key)
            if pending is None:
                mine: Future[UpstreamResult] = Future()
                self._in_flight[key] = mine
        if pending is not None:
            metrics.COALESCED_READS.labels(key[0]).inc()
            # Each waiter gets its own copy: later steps build on the body they receive.
            return copy.deepcopy(pending.result())
        try:
            result = send()
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        else:
            mine.set_result(result)
            return result
        finally:
            with self._lock:
                del self._in_flight[key]


class Upstream:
    def __init__(self, client: ManagementClient, plan: TierPlan,
                 cache: ReadCache | None = None) -> None:
        self.client = client
        self.plan = plan
        self.reads = Coalescer()
        self.cache = cache  # MGMT_READ_CACHE_SECONDS > 0

    def tier_for(self, operation: Operation, body_fields: Iterable[str] = ()) -> TierConfig:
        return self.plan.tier_for(operation, body_fields)

    def send(self, operation: Operation, tier: TierConfig, path_params: dict[str, str],
             query: list[tuple[str, str]], body: dict[str, Any] | None, *,
             fresh: bool = False) -> UpstreamResult:
        """One Management call. Reads may be shared with an identical one in flight, and
        served from the read cache unless `fresh`; writes invalidate the cache."""
        path = upstream_path(operation, path_params)
        user = path_params.get(operation.target_user) if operation.target_user else None
        if operation.is_write:
            try:
                return self.client.call(operation, tier, path, query, body)
            finally:
                if self.cache is not None:  # also after a failure: it may have applied
                    self.cache.invalidate(user or _body_user(operation, body))
        key: ReadKey = (operation.operation_id, tier.name, path, tuple(query))
        if self.cache is None:
            return self.reads.run(key, lambda: self.client.call(operation, tier, path, query,
                                                                None))
        cached, generation = (None, -1) if fresh else self.cache.lookup(key, user)
        if cached is not None:
            return cached
        if fresh:
            generation = self.cache.lookup(key, user)[1]  # a fresh answer refills the entry
        result = self.reads.run(key, lambda: self.client.call(operation, tier, path, query,
                                                              None))
        self.cache.store(key, generation, result)
        return result

    def read(self, operation: Operation, path_params: dict[str, str],
             query: list[tuple[str, str]] | None = None, *, fresh: bool = False
             ) -> UpstreamResult:
        """A GET through the operation's tier, the budget and the client's error mapping (a
        missing user raises the same 404 Problem the facade would return)."""
        assert not operation.is_write
        return self.send(operation, self.tier_for(operation), path_params, query or [], None,
                         fresh=fresh)


def _body_user(operation: Operation, body: dict[str, Any] | None) -> str | None:
    """The user a write names in its body (password tickets, verification emails)."""
    if operation.target_user is None or not isinstance(body, dict):
        return None
    value = body.get(operation.target_user)
    return value if isinstance(value, str) else None
