"""A tiny circuit breaker around Redis calls that have a local fallback.

After a Redis failure the caller uses its fallback for `cool_down` seconds
before trying Redis again, so an unreachable Redis (a blackholed host answers
nothing until the socket timeout) costs one slow attempt per cool-down, not
one per request.
"""

from __future__ import annotations

import logging
import threading
import time

from .. import metrics

log = logging.getLogger("admin_gateway.guards")


class Breaker:
    def __init__(self, component: str, cool_down: float = 5.0) -> None:
        self.component = component
        self.cool_down = cool_down
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        """True when Redis should be tried."""
        return time.monotonic() >= self._open_until

    def failed(self, exc: BaseException) -> None:
        metrics.REDIS_ERRORS.labels(self.component).inc()
        with self._lock:
            was_closed = self.closed
            self._open_until = time.monotonic() + self.cool_down
        if was_closed:
            log.warning("Redis unavailable for %s (%s); using the local fallback for %.0f s",
                        self.component, type(exc).__name__, self.cool_down)

    def succeeded(self) -> None:
        self._open_until = 0.0
