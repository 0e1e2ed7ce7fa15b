"""Helpers for the authentication tests: tokens, calls to /gateway/me, rejection counters."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from prometheus_client import REGISTRY

from app import create_app
from config.settings import load_settings
from tests.conftest import gateway_env
from tests.support.redis_helpers import delete_prefix, real_redis_url, unique_prefix
from tests.support.servers import LiveServer


def rejections(reason: str) -> float:
    return REGISTRY.get_sample_value("agw_token_rejections_total", {"reason": reason}) or 0.0


def jwks_fetch_metric(outcome: str) -> float:
    return REGISTRY.get_sample_value("agw_jwks_fetches_total", {"outcome": outcome}) or 0.0


def me(gateway: Any, token: str | None = None, *, authorization: str | None = None,
       **kwargs: Any) -> requests.Response:
    headers = dict(kwargs.pop("headers", {}))
    if authorization is not None:
        headers["Authorization"] = authorization
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(gateway.url + "/gateway/me", headers=headers, timeout=10, **kwargs)


def claims_for(tenant: Any, **overrides: Any) -> dict[str, Any]:
    """Claims of a valid Auth0-profile token for alice; a value of None removes the claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": tenant.issuer,
        "sub": tenant.user_id("alice"),
        "aud": [tenant.gateway_audience, tenant.issuer + "userinfo"],
        "iat": now,
        "exp": now + 600,
        "azp": tenant.panel_client_id,
        "scope": "openid profile email",
        "permissions": ["users:read"],
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def with_header(token: str, **header: Any) -> str:
    """`token` with its header replaced (the signature no longer matches: fine for checks
    that come before the signature)."""
    _, payload, signature = token.split(".")
    return ".".join([b64url(json.dumps(header).encode()), payload, signature])


@pytest.fixture
def tenant(emulator: Any) -> Any:
    return emulator.tenant


@pytest.fixture(scope="module")
def shared_gateway(emulator: Any) -> Iterator[LiveServer]:
    """One gateway for tests that only read (most rejection cases): per-test gateways cost
    half a second each to stop. Per-caller rate limits are off: these tests send far more
    than RATE_LIMIT_UNAUTHENTICATED bad tokens a minute, and the limits have their own tests."""
    url = real_redis_url()
    prefix = unique_prefix()
    app = create_app(load_settings(gateway_env(emulator, url, prefix,
                                               RATE_LIMITS_ENABLED="false")))
    with LiveServer(app) as server:
        yield server
    delete_prefix(url, prefix)
