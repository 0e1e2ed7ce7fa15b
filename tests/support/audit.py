"""Read the gateway's audit stream from Redis."""

from __future__ import annotations

import json
from typing import Any

import redis


def audit_events(redis_url: str, prefix: str) -> list[dict[str, Any]]:
    """Every event in the audit stream of this gateway, oldest first."""
    client = redis.Redis.from_url(redis_url)
    try:
        entries = client.xrange(prefix + "audit")
    finally:
        client.close()
    return [json.loads(fields[b"event"]) for _, fields in entries]
