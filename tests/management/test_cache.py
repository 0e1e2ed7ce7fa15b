"""The two cache levels: L1 in process, L2 in Redis (shared, encrypted, keyed on everything)."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import redis
from cryptography.fernet import Fernet

from app.management.broker import CACHE_NAMESPACE, cache_digest
from app.redis_conn import key
from emulator.seed import READ_SCOPES
from tests.support.brokers import BrokerFactory
from tests.support.environments import CACHE_KEY
from tests.support.metrics import metric
from tests.support.tokens import jwt_claims


class CountingRedis(redis.Redis):
    """A real Redis client that remembers which commands it sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[str] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(str(args[0]))
        return super().execute_command(*args, **options)


def cache_key_of(broker: Any, tier_name: str) -> str:
    settings = broker.settings
    return key(settings, CACHE_NAMESPACE, cache_digest(settings, settings.tier(tier_name)))


def test_second_process_takes_the_token_from_redis(make_broker: BrokerFactory,
                                                   tenant: Any) -> None:
    first, second = make_broker(), make_broker()
    read = first.settings.tier("read")
    l2_hits = metric("agw_token_cache_total", tier="read", level="l2", result="hit")
    token = first.get_token(read)
    assert second.get_token(read) == token
    assert tenant.tokens_issued["gateway-read"] == 1
    assert metric("agw_token_cache_total", tier="read", level="l2", result="hit") == l2_hits + 1
    assert [s.cached for s in second.status()] == ["l1", "none", "none"]


def test_l1_hit_costs_no_redis_round_trip(make_broker: BrokerFactory, redis_url: str) -> None:
    client = CountingRedis.from_url(redis_url)
    broker = make_broker(redis_client=client)
    read = broker.settings.tier("read")
    token = broker.get_token(read)
    assert {"GET", "SET"} <= set(client.sent)  # the cold path did use Redis
    client.sent.clear()
    assert all(broker.get_token(read) == token for _ in range(200))
    assert client.sent == []


def test_cached_value_is_encrypted_and_the_key_holds_no_secret(
        make_broker: BrokerFactory, redis_url: str, redis_prefix: str, tenant: Any) -> None:
    broker = make_broker()
    token = broker.get_token(broker.settings.tier("admin"))
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=redis_prefix + "*"))
    assert keys == [cache_key_of(broker, "admin").encode()]
    raw = client.get(keys[0])
    assert raw is not None
    # No piece of the JWT in clear (not just "eyJ": three base64 letters a random Fernet
    # ciphertext holds by chance about once in a thousand runs).
    assert not any(part.encode() in raw for part in token.split(".")) and \
        token.encode() not in raw
    assert token.encode() in Fernet(CACHE_KEY.encode()).decrypt(raw)
    admin = tenant.clients["gateway-admin"]
    assert admin.client_secret.encode() not in keys[0]
    assert admin.client_id.encode() not in keys[0]  # hashed with the other parameters


def test_keys_carry_the_configured_prefix(make_broker: BrokerFactory, redis_url: str,
                                          redis_prefix: str) -> None:
    broker = make_broker(REDIS_KEY_PREFIX=redis_prefix + "custom:")
    broker.get_token(broker.settings.tier("read"))
    client = redis.Redis.from_url(redis_url)
    assert [k.decode() for k in client.scan_iter(match=redis_prefix + "*")] == [
        cache_key_of(broker, "read")]
    assert cache_key_of(broker, "read").startswith(redis_prefix + "custom:mgmt-token:")


def test_cache_key_depends_on_every_parameter(make_broker: BrokerFactory) -> None:
    # Duende.AccessTokenManagement's advisory: a key missing a parameter served
    # tokens with the wrong scope to concurrent callers.
    settings = make_broker.settings()
    read = settings.tier("read")
    variants = [
        (settings, read),
        (dataclasses.replace(settings, auth0_domain="other.eu.auth0.com"), read),
        (dataclasses.replace(settings, management_audience="https://other/api/v2/"), read),
        (settings, dataclasses.replace(read, client_id="other-client")),
        (settings, dataclasses.replace(read, scopes=frozenset({"read:users"}))),
    ]
    assert len({cache_digest(s, t) for s, t in variants}) == len(variants)
    # Scope order does not matter: the set is sorted before hashing.
    same = dataclasses.replace(read, scopes=frozenset(reversed(sorted(read.scopes))))
    assert cache_digest(settings, same) == cache_digest(settings, read)
    # The secret is not a parameter of the token, so rotating it keeps the cache.
    assert cache_digest(settings, dataclasses.replace(read, client_secret=None)) \
        == cache_digest(settings, read)  # type: ignore[arg-type]


def test_same_client_with_other_scopes_gets_its_own_entry(make_broker: BrokerFactory,
                                                          tenant: Any) -> None:
    read = tenant.clients["gateway-read"]
    broker = make_broker(MGMT_TIERS="read,narrow", MGMT_TIER_NARROW_CLIENT_ID=read.client_id,
                         MGMT_TIER_NARROW_CLIENT_SECRET=read.client_secret,
                         MGMT_TIER_NARROW_SCOPES="read:users")
    broker.get_token(broker.settings.tier("narrow"))
    broker.get_token(broker.settings.tier("read"))
    assert tenant.tokens_issued["gateway-read"] == 2
    assert cache_key_of(broker, "narrow") != cache_key_of(broker, "read")


def test_a_value_moved_onto_another_tiers_key_is_not_used(
        make_broker: BrokerFactory, redis_url: str, tenant: Any) -> None:
    first = make_broker()
    admin_token = first.get_token(first.settings.tier("admin"))
    client = redis.Redis.from_url(redis_url)
    raw = client.get(cache_key_of(first, "admin"))
    assert raw is not None
    # Someone with write access to Redis (but not the Fernet key) swaps values.
    client.set(cache_key_of(first, "read"), raw, ex=600)
    second = make_broker()
    token = second.get_token(second.settings.tier("read"))
    assert token != admin_token
    assert jwt_claims(token)["azp"] == "gateway-read"
    assert tenant.tokens_issued["gateway-read"] == 1


def test_redis_ttl_is_exp_minus_skew(make_broker: BrokerFactory, redis_url: str) -> None:
    broker = make_broker(TOKEN_CACHE_SKEW_SECONDS="60", TOKEN_CACHE_SKEW_RATIO="0.1")
    token = broker.get_token(broker.settings.tier("read"))
    exp = jwt_claims(token)["exp"]
    ttl = redis.Redis.from_url(redis_url).pttl(cache_key_of(broker, "read")) / 1000
    lifetime = 86400
    assert abs(ttl - (exp - 0.1 * lifetime - time.time())) < 2  # 0.1 x 24 h beats 60 s
    [status] = [s for s in broker.status() if s.tier == "read"]
    assert abs(status.expires_in - (exp - time.time())) < 2  # type: ignore[operator]


def test_short_lived_tokens_are_renewed_before_they_expire(make_broker: BrokerFactory,
                                                           tenant: Any) -> None:
    client = tenant.add_client("short-lived", READ_SCOPES, token_lifetime=3)
    overrides = {"MGMT_TIER_READ_CLIENT_ID": client.client_id,
                 "MGMT_TIER_READ_CLIENT_SECRET": client.client_secret,
                 "TOKEN_CACHE_SKEW_SECONDS": "1", "TOKEN_CACHE_SKEW_RATIO": "0.1"}
    brokers = [make_broker(**overrides), make_broker(**overrides)]  # two "processes"
    read = brokers[0].settings.tier("read")
    seen: list[tuple[str, float]] = []
    errors: list[BaseException] = []
    stop = time.monotonic() + 3.5

    def hammer(broker: Any) -> None:
        try:
            while time.monotonic() < stop:
                token = broker.get_token(read)
                seen.append((token, jwt_claims(token)["exp"] - time.time()))
                time.sleep(0.02)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(b,)) for b in brokers for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    # Never an expired token; about the 1 s skew left (minus scheduling delays).
    assert min(left for _, left in seen) > 0.5
    assert len({token for token, _ in seen}) >= 2
    # Renewed once per renewal period fleet-wide, not once per caller.
    assert tenant.tokens_issued["short-lived"] <= 4
