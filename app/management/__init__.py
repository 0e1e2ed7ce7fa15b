"""Management API access: credential tiers, the token broker and the HTTP client.

`init_app` validates the tiers (start-up fails if a catalog operation has no
covering tier) and keeps the process's one `TokenBroker` and `Upstream` (tier
plan + pooled client) in `app.extensions`.
"""

from __future__ import annotations

from flask import Flask, current_app

from config.settings import Settings

from .. import redis_conn
from . import plans
from .broker import TierStatus, TokenBroker
from .client import Budget, ManagementClient
from .dispatch import Upstream, upstream_path
from .read_cache import ReadCache
from .tiers import TierChoice, TierPlan, choose_tier, plan_tiers

__all__ = ["TierChoice", "TierPlan", "TierStatus", "TokenBroker", "Upstream", "broker",
           "choose_tier", "init_app", "plan_tiers", "tier_plan", "upstream", "upstream_path"]

BROKER_EXTENSION = "admin_gateway.token_broker"
UPSTREAM_EXTENSION = "admin_gateway.upstream"


def init_app(app: Flask, settings: Settings, budget: Budget | None = None) -> Upstream:
    # Raises config.settings.ConfigError naming every uncovered operation.
    plan = TierPlan(settings.tiers, plans.offered_operations(settings))
    tokens = TokenBroker(settings, redis_conn.redis_client(app))
    app.extensions[BROKER_EXTENSION] = tokens
    # The Management API on its own urllib3 pool (transport.py); the rare token mints keep
    # the broker's requests session.
    client = ManagementClient(settings, tokens, budget=budget)
    cache = (ReadCache(settings, redis_conn.redis_client(app))
             if settings.mgmt_read_cache_seconds > 0 else None)
    found = app.extensions[UPSTREAM_EXTENSION] = Upstream(client, plan, cache)
    return found


def broker(app: Flask | None = None) -> TokenBroker:
    """The app's token broker (the current app's by default)."""
    found = (app or current_app).extensions[BROKER_EXTENSION]
    assert isinstance(found, TokenBroker)
    return found


def upstream(app: Flask | None = None) -> Upstream:
    found = (app or current_app).extensions[UPSTREAM_EXTENSION]
    assert isinstance(found, Upstream)
    return found


def tier_plan(app: Flask | None = None) -> TierPlan:
    """The operation -> tier table computed at start-up."""
    return upstream(app).plan
