"""One Redis client per process, from REDIS_URL, shared by every subsystem.

`redis_client(app)` is the client (plain, TLS, Unix socket, Sentinel or Cluster,
chosen by the URL); `key(settings, ...)` builds every gateway key (prefixed, and
hash-tagged on a cluster); `Breaker` spares callers with a local fallback a slow
attempt per request.

Design: docs/runtime.md, "Redis".
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import unquote, urlsplit

import redis
from flask import Flask, current_app
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException
from redis.sentinel import Sentinel

from config.settings import Settings

from . import metrics

EXTENSION = "admin_gateway.redis"
log = logging.getLogger("admin_gateway.redis")

SENTINEL_SCHEME = "redis+sentinel"
CLUSTER_SCHEME = "redis+cluster"

# Short timeouts: Redis trouble must degrade a request (cache miss, in-memory
# limits), never hang it until gunicorn kills the worker.
CONNECTION_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 0.5,
    "socket_timeout": 1.0,
    "health_check_interval": 30,
}

Kind = Literal["single", "sentinel", "cluster"]


class RedisURLError(ValueError):
    """REDIS_URL names a form the gateway cannot use; the message says why (no password)."""


@dataclass(frozen=True)
class RedisTarget:
    """What REDIS_URL points at, parsed once."""

    kind: Kind
    url: str
    hosts: tuple[tuple[str, int], ...] = ()
    service_name: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def _hosts(netloc: str) -> tuple[tuple[str, int], ...]:
    hosts = []
    for part in netloc.rsplit("@", 1)[-1].split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise RedisURLError("each host must be host:port, e.g. redis-1:26379")
        hosts.append((host.strip("[]"), int(port)))
    return tuple(hosts)


def _credentials(netloc: str) -> tuple[str | None, str | None]:
    if "@" not in netloc:
        return None, None
    userinfo = netloc.rsplit("@", 1)[0]
    user, sep, password = userinfo.partition(":")
    return (unquote(user) or None), (unquote(password) if sep else None)


def parse_redis_url(url: str) -> RedisTarget:
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme in ("redis", "rediss", "unix"):
        return RedisTarget("single", url)
    if scheme not in (SENTINEL_SCHEME, CLUSTER_SCHEME):
        raise RedisURLError("REDIS_URL must start with redis://, rediss://, unix://, "
                            "redis+sentinel:// or redis+cluster://")
    # urlsplit cannot parse a comma-separated host list: split by hand.
    netloc, _, path = rest.partition("/")
    username, password = _credentials(netloc)
    hosts = _hosts(netloc)
    if scheme == CLUSTER_SCHEME:
        if path.strip("/"):
            raise RedisURLError("redis+cluster:// takes no path: a cluster has only db 0")
        return RedisTarget("cluster", url, hosts, username=username, password=password)
    parts = [p for p in urlsplit("/" + path).path.split("/") if p]
    if not parts or len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise RedisURLError("redis+sentinel:// needs /service_name[/db], "
                            "e.g. redis+sentinel://s1:26379,s2:26379/mymaster/0")
    db = int(parts[1]) if len(parts) == 2 else 0
    return RedisTarget("sentinel", url, hosts, parts[0], db, username, password)


class _LazyCluster:
    """A RedisCluster built on first use.

    RedisCluster's constructor contacts the cluster to learn its slots; built at
    start-up it would turn a Redis outage into a worker that cannot boot, while
    the gateway is meant to keep serving without Redis. Attribute access
    builds (and on failure retries on the next call) the real client.
    """

    def __init__(self, target: RedisTarget) -> None:
        self._target = target
        self._client: RedisCluster | None = None
        self._lock = threading.Lock()

    def resolve(self) -> RedisCluster:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    try:
                        self._client = RedisCluster(
                            startup_nodes=[ClusterNode(h, p)  # type: ignore[no-untyped-call]
                                           for h, p in self._target.hosts],
                            username=self._target.username,
                            password=self._target.password,
                            **CONNECTION_OPTIONS,
                        )
                    except RedisClusterException as exc:
                        # Not a RedisError subclass: callers that degrade on
                        # RedisError would otherwise turn an outage into 500s.
                        raise redis.ConnectionError(
                            "Redis Cluster is not reachable") from exc
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.resolve(), name)

    def __repr__(self) -> str:
        return f"<lazy RedisCluster {self._target.hosts}>"


def connect(settings: Settings) -> redis.Redis:
    """A client for REDIS_URL. On Cluster it is a RedisCluster (same command API)."""
    target = parse_redis_url(settings.redis_url)
    if target.kind == "single":
        client: redis.Redis = redis.Redis.from_url(target.url, **CONNECTION_OPTIONS)
        return client
    if target.kind == "sentinel":
        auth = {"username": target.username, "password": target.password}
        # The same credentials for the sentinels and the master, as `limits` does.
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(target.hosts),
            sentinel_kwargs={**auth, "socket_connect_timeout": 0.5, "socket_timeout": 1.0},
            **auth,
            **CONNECTION_OPTIONS,
        )
        master: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
            target.service_name, db=target.db)
        return master
    # Typed as redis.Redis for callers: RedisCluster offers the same commands for
    # single-slot keys, which key() guarantees.
    return cast(redis.Redis, _LazyCluster(target))


def unwrap(client: Any) -> Any:
    """The real client behind `connect()`'s answer (RedisCluster for a cluster URL)."""
    return client.resolve() if isinstance(client, _LazyCluster) else client


def is_cluster(settings: Settings) -> bool:
    return settings.redis_url.lower().startswith(CLUSTER_SCHEME + "://")


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions[EXTENSION] = connect(settings)


def redis_client(app: Flask | None = None) -> redis.Redis:
    client: redis.Redis = (app or current_app).extensions[EXTENSION]
    return client


def key(settings: Settings, *parts: str) -> str:
    """REDIS_KEY_PREFIX + parts; on Cluster the prefix is a hash tag (one slot)."""
    prefix = settings.redis_key_prefix
    if is_cluster(settings):
        prefix = "{" + prefix + "}"
    return prefix + ":".join(parts)


class Breaker:
    """A tiny circuit breaker around Redis calls that have a local fallback.

    After a failure the caller uses its fallback for `cool_down` seconds before
    trying Redis again, so an unreachable Redis (a blackholed host answers nothing
    until the socket timeout) costs one slow attempt per cool-down, not per request.
    """

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
