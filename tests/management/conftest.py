"""Fixtures for the token broker: brokers against the emulator, real Redis, helpers.

Tests that count mints use `fresh_emulator` (a tenant of their own, counters at
zero). Redis is the real one (db 15, a unique prefix per test) unless a test
needs to stop it: `private_redis` runs a redis-server of its own.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import requests
from flask import Flask, Response, request
from prometheus_client import REGISTRY

from app.management.broker import TokenBroker
from app.redis_conn import connect
from config.settings import Secret, Settings, TierConfig, load_settings
from devtools.demo import DEMO_TIERS, free_port
from emulator.seed import DEMO_CLIENTS
from tests.conftest import gateway_env
from tests.support.redis_helpers import skip_or_fail
from tests.support.servers import LiveServer


def demo_tiers() -> tuple[TierConfig, ...]:
    """The demo's read/write/admin tiers, with the emulator's grant scopes."""
    return tuple(TierConfig(name, client_id, Secret("unused"),
                            frozenset(DEMO_CLIENTS[client_id][1]))
                 for name, client_id in DEMO_TIERS.items())


def jwt_claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (the tests only read `exp`)."""
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return claims


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def tier_env(name: str, client: Any, scopes: str | None = None) -> dict[str, str]:
    """Environment of one tier backed by an emulator client."""
    prefix = f"MGMT_TIER_{name.upper()}_"
    return {prefix + "CLIENT_ID": client.client_id, prefix + "CLIENT_SECRET": client.client_secret,
            prefix + "SCOPES": scopes or " ".join(client.grant_scopes)}


@dataclass
class BrokerFactory:
    emulator: Any
    redis_url: str
    prefix: str
    brokers: list[TokenBroker]

    def env(self, emulator: Any = None, **overrides: str) -> dict[str, str]:
        return gateway_env(emulator or self.emulator, self.redis_url, self.prefix, **overrides)

    def settings(self, emulator: Any = None, **overrides: str) -> Settings:
        return load_settings(self.env(emulator, **overrides))

    def __call__(self, emulator: Any = None, *, settings: Settings | None = None,
                 redis_client: redis.Redis | None = None, **overrides: str) -> TokenBroker:
        """A broker, as one gateway process would build it (its own L1, shared Redis)."""
        settings = settings or self.settings(emulator, **overrides)
        broker = TokenBroker(settings, redis_client or connect(settings))
        self.brokers.append(broker)
        return broker


@pytest.fixture
def make_broker(fresh_emulator: Any, redis_url: str, redis_prefix: str
                ) -> Iterator[BrokerFactory]:
    factory = BrokerFactory(fresh_emulator, redis_url, redis_prefix, [])
    yield factory
    for broker in factory.brokers:
        broker.session.close()
    fresh_emulator.tenant.faults.clear()


@pytest.fixture
def tenant(fresh_emulator: Any) -> Any:
    return fresh_emulator.tenant


class PrivateRedis:
    """A redis-server of our own on a free port, so a test can stop and restart it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.TemporaryDirectory()
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server
        self._proc = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._dir.name],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=10)
            self._proc = None

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not installed")
    server = PrivateRedis()
    server.start()
    yield server
    server.close()


class TokenEndpointRecorder:
    """A loopback server in front of the emulator's /oauth/token that records each form."""

    def __init__(self, upstream: str) -> None:
        self.forms: list[dict[str, str]] = []
        app = Flask("token-recorder")

        @app.post("/oauth/token")
        def token() -> Response:
            self.forms.append(request.form.to_dict())
            answer = requests.post(upstream + "/oauth/token", data=request.form, timeout=10)
            return Response(answer.content, answer.status_code,
                            content_type=answer.headers.get("Content-Type"))

        self.server = LiveServer(app).start()
        self.domain = self.server.url.split("://", 1)[1]


@pytest.fixture
def token_recorder(fresh_emulator: Any) -> Iterator[TokenEndpointRecorder]:
    recorder = TokenEndpointRecorder(fresh_emulator.url)
    yield recorder
    recorder.server.stop()

