"""One Redis client per process, from REDIS_URL, shared by every subsystem.

The token cache, mint locks, rate limits, Management API budget and audit
stream all use `redis_client(app)`; keys are built with `key(...)` so that each
carries REDIS_KEY_PREFIX.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, current_app

from config.settings import Settings

EXTENSION = "admin_gateway.redis"


def connect(settings: Settings) -> redis.Redis:
    """A client for REDIS_URL with short timeouts: Redis trouble must degrade, not hang."""
    client: redis.Redis = redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=0.5,
        socket_timeout=1.0,
        health_check_interval=30,
    )
    return client


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions[EXTENSION] = connect(settings)


def redis_client(app: Flask | None = None) -> redis.Redis:
    client: Any = (app or current_app).extensions[EXTENSION]
    assert isinstance(client, redis.Redis)
    return client


def key(settings: Settings, *parts: str) -> str:
    return settings.redis_key_prefix + ":".join(parts)
