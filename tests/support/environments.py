"""Gateway settings for tests, as environment dicts.

- `gateway_env`: a gateway pointing at an emulator and a real Redis, as the demo builds it
  (with the suite's one TOKEN_CACHE_KEY, `CACHE_KEY`);
- `valid_env`: a complete, valid configuration that needs no emulator (two tiers, the
  client secret `SECRET`, the cache key `KEY`).
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet

from emulator.seed import ADMIN_SCOPES, READ_SCOPES, WRITE_SCOPES

CACHE_KEY = Fernet.generate_key().decode()


def gateway_env(emulator: Any, redis_url: str, prefix: str, **overrides: str) -> dict[str, str]:
    """Gateway settings pointing at an emulator, as the demo builds them."""
    from devtools.demo import demo_environment

    env = demo_environment(emulator.tenant, redis_url, CACHE_KEY)
    env.update({"REDIS_KEY_PREFIX": prefix, "LOG_FORMAT": "json"})
    env.update(overrides)
    return env


SECRET = "s3cr3t-value-never-printed"
KEY = Fernet.generate_key().decode()


def valid_env(**changes: str | None) -> dict[str, str]:
    env = {
        "AUTH0_DOMAIN": "example.eu.auth0.com",
        "AUTH0_AUDIENCE": "https://admin-gateway.example.com/api",
        "MGMT_TIERS": "read,write",
        "MGMT_TIER_READ_CLIENT_ID": "readclient",
        "MGMT_TIER_READ_CLIENT_SECRET": SECRET,
        "MGMT_TIER_READ_SCOPES": " ".join(READ_SCOPES),
        "MGMT_TIER_WRITE_CLIENT_ID": "writeclient",
        "MGMT_TIER_WRITE_CLIENT_SECRET": SECRET,
        # The demo's write and admin tiers in one: every catalog operation is covered.
        "MGMT_TIER_WRITE_SCOPES": " ".join(WRITE_SCOPES + ADMIN_SCOPES),
        "TOKEN_CACHE_KEY": KEY,
    }
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
