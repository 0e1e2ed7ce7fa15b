"""REDIS_URL forms: parsed to the right client, and real set/get/lock/scripts on a
Redis Cluster and through a Sentinel started by the test."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
import redis
from limits import parse_many
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException
from redis.sentinel import SentinelConnectionPool

from app import redis_conn
from app.catalog import BY_ID
from app.guards.budget import FleetBudget, budget_plan
from app.guards.ratelimit import RateGate
from config.settings import Secret, Settings
from tests.support.redis_servers import redis_cluster, redis_sentinel

BASE = Settings(auth0_domain="example.eu.auth0.com", auth0_audience="https://api.example.com",
                tier_names=("read",), token_cache_key=Secret("x" * 44))


def settings_for(url: str, prefix: str = "agw:") -> Settings:
    return dataclasses.replace(BASE, redis_url=url, redis_key_prefix=prefix)


def connection_kwargs(client: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = client.connection_pool.connection_kwargs
    return kwargs


def test_redis_url_is_a_plain_client_with_short_timeouts() -> None:
    client = redis_conn.connect(settings_for("redis://:pw@cache.internal:6380/3"))
    assert type(client) is redis.Redis
    kwargs = connection_kwargs(client)
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "cache.internal", 6380, 3, "pw")
    assert kwargs["socket_timeout"] == 1.0 and kwargs["socket_connect_timeout"] == 0.5


def test_rediss_url_uses_tls() -> None:
    client = redis_conn.connect(settings_for("rediss://cache.internal:6380/0"))
    assert client.connection_pool.connection_class is redis.SSLConnection


def test_unix_url_uses_a_socket() -> None:
    client = redis_conn.connect(settings_for("unix:///run/redis/redis.sock?db=2"))
    assert client.connection_pool.connection_class is redis.UnixDomainSocketConnection
    assert connection_kwargs(client)["path"] == "/run/redis/redis.sock"
    assert connection_kwargs(client)["db"] == 2


def test_sentinel_url_asks_the_sentinels_for_the_master() -> None:
    client = redis_conn.connect(
        settings_for("redis+sentinel://:pw@s1:26379,s2:26380/mymaster/4"))
    assert isinstance(client, redis.Redis)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "mymaster"
    assert connection_kwargs(client)["db"] == 4
    assert connection_kwargs(client)["password"] == "pw"
    sentinels = [s.connection_pool.connection_kwargs for s in pool.sentinel_manager.sentinels]
    assert [(s["host"], s["port"]) for s in sentinels] == [("s1", 26379), ("s2", 26380)]


def test_cluster_url_is_built_lazily() -> None:
    # Nothing listens on these ports: building the client must not contact them.
    client = redis_conn.connect(settings_for("redis+cluster://127.0.0.1:1,127.0.0.1:2"))
    assert not isinstance(client, redis.Redis)
    with pytest.raises(redis.RedisError):
        client.ping()


@pytest.mark.parametrize("url, message", [
    ("redis+sentinel://s1:26379", "service_name"),
    ("redis+sentinel://s1:26379/mymaster/notadb", "service_name"),
    ("redis+sentinel://s1/mymaster", "host:port"),
    ("redis+cluster://n1:7000/0", "takes no path"),
    ("redis+cluster://n1:7000,n2", "host:port"),
    ("memcached://m:11211", "must start with"),
], ids=["sentinel-no-service", "sentinel-bad-db", "sentinel-no-port", "cluster-with-db",
        "cluster-host-without-port", "unknown-scheme"])
def test_malformed_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(redis_conn.RedisURLError, match=message) as caught:
        redis_conn.parse_redis_url(url)
    assert "pw" not in str(caught.value)


def test_url_credentials_are_parsed_and_not_shown() -> None:
    target = redis_conn.parse_redis_url("redis+cluster://user:s%40cret@n1:7000,n2:7001")
    assert (target.username, target.password) == ("user", "s@cret")
    assert target.hosts == (("n1", 7000), ("n2", 7001))
    assert "s@cret" not in repr(target)


def test_keys_carry_the_prefix_and_a_hash_tag_on_cluster() -> None:
    assert redis_conn.key(settings_for("redis://h:6379/0"), "token", "abc") == "agw:token:abc"
    cluster = settings_for("redis+cluster://h:7000")
    assert redis_conn.key(cluster, "token", "abc") == "{agw:}token:abc"
    assert redis_conn.key(cluster, "lock", "abc") == "{agw:}lock:abc"


def _gate_allows_one_per_minute(settings: Any, client: Any) -> list[bool]:
    """The per-caller gate (limit + budget token in one script) on this deployment."""
    budget = FleetBudget(settings, client, budget_plan(settings))
    gate = RateGate(settings, client, budget)
    item = parse_many("1/minute")
    caller = f"sub:agwtest-{uuid.uuid4().hex}"
    bucket = budget.bucket_for(BY_ID["get_roles"])
    verdicts = [gate.check(caller, "reads", item, bucket) for _ in range(2)]
    assert gate.breaker.closed  # answered by Redis, not by the in-memory fallback
    return [v.allowed for v in verdicts]


def test_the_rate_gate_on_the_real_redis(redis_url: str) -> None:
    settings = settings_for(redis_url, prefix=f"agwtest:{uuid.uuid4().hex[:8]}:")
    client = redis_conn.connect(settings)
    assert _gate_allows_one_per_minute(settings, client) == [True, False]
    for key in client.scan_iter(settings.redis_key_prefix + "*"):
        client.delete(key)


# A script touching two keys: on a cluster it only runs when both share a slot.
TWO_KEY_SCRIPT = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[2])"


def test_real_cluster_set_get_lock_and_multi_key_script() -> None:
    with redis_cluster() as ports:
        url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)
        settings = settings_for(url, prefix=f"agwtest:{uuid.uuid4().hex[:8]}:")
        client = redis_conn.connect(settings)
        assert isinstance(redis_conn.unwrap(client), RedisCluster)
        assert len(redis_conn.unwrap(client).get_primaries()) == 3

        token_key = redis_conn.key(settings, "token", "read")
        client.set(token_key, b"sealed", ex=60)
        assert client.get(token_key) == b"sealed"

        lock = client.lock(redis_conn.key(settings, "lock", "read"), timeout=5, blocking=False)
        assert lock.acquire()
        assert not client.lock(redis_conn.key(settings, "lock", "read"), timeout=5,
                               blocking=False).acquire()
        lock.release()

        script = client.register_script(TWO_KEY_SCRIPT)
        counter_key = redis_conn.key(settings, "budget", "tokens")
        assert script(keys=[token_key, counter_key], args=[b"v2"]) == 1
        assert client.get(token_key) == b"v2"

        # Without the hash tag the same keys would land in different slots.
        plain = [settings.redis_key_prefix + "token:read", settings.redis_key_prefix + "budget:x"]
        slots = {redis_conn.unwrap(client).keyslot(k) for k in plain}
        assert len(slots) == 2
        with pytest.raises((redis.RedisError, RedisClusterException), match="(?i)slot"):
            script(keys=plain, args=[b"v"])

        # The gate's script touches the limit's key and the budget's: one slot.
        assert _gate_allows_one_per_minute(settings, client) == [True, False]


def test_real_sentinel_finds_the_master() -> None:
    with redis_sentinel("agwmaster") as (master_port, sentinel_port):
        settings = settings_for(f"redis+sentinel://127.0.0.1:{sentinel_port}/agwmaster/2")
        client = redis_conn.connect(settings)
        client.set("agwtest:sentinel", b"yes", ex=30)
        direct = redis.Redis(port=master_port, db=2)
        assert direct.get("agwtest:sentinel") == b"yes"
        direct.close()

        assert _gate_allows_one_per_minute(settings, client) == [True, False]
