"""Token brokers for tests: built as a gateway process builds them (against an emulator and
a real Redis), the demo's tiers, and a recorder in front of the emulator's token endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
import requests
from flask import Flask, Response, request

from app.management.broker import TokenBroker
from app.redis_conn import connect
from config.settings import Secret, Settings, TierConfig, load_settings
from devtools.demo import DEMO_TIERS
from emulator.seed import DEMO_CLIENTS
from tests.support.environments import gateway_env
from tests.support.servers import LiveServer


def demo_tiers() -> tuple[TierConfig, ...]:
    """The demo's read/write/admin tiers, with the emulator's grant scopes."""
    return tuple(TierConfig(name, client_id, Secret("unused"),
                            frozenset(DEMO_CLIENTS[client_id][1]))
                 for name, client_id in DEMO_TIERS.items())


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
