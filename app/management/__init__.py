"""Management API access: credential tiers, the token broker and the HTTP client.

`init_app(app, settings)` validates the tiers (start-up fails if a catalog
operation has no covering tier) and puts the process's one `TokenBroker` and
the operation -> tier table in `app.extensions`; `broker()` returns it.
"""

from __future__ import annotations

from flask import Flask, current_app

from config.settings import Settings

from .. import redis_conn
from .broker import TierStatus, TokenBroker
from .tiers import TierChoice, choose_tier, plan_tiers

__all__ = ["TierChoice", "TierStatus", "TokenBroker", "broker", "choose_tier", "init_app",
           "tier_plan"]

BROKER_EXTENSION = "admin_gateway.token_broker"
TIER_PLAN_EXTENSION = "admin_gateway.tier_plan"


def init_app(app: Flask, settings: Settings) -> None:
    # Raises config.settings.ConfigError naming every uncovered operation.
    app.extensions[TIER_PLAN_EXTENSION] = plan_tiers(settings.tiers)
    if redis_conn.EXTENSION not in app.extensions:
        redis_conn.init_app(app, settings)
    app.extensions[BROKER_EXTENSION] = TokenBroker(settings, redis_conn.redis_client(app))


def broker(app: Flask | None = None) -> TokenBroker:
    """The app's token broker (the current app's by default)."""
    found = (app or current_app).extensions[BROKER_EXTENSION]
    assert isinstance(found, TokenBroker)
    return found


def tier_plan(app: Flask | None = None) -> tuple[TierChoice, ...]:
    """The operation -> tier table computed at start-up."""
    plan: tuple[TierChoice, ...] = (app or current_app).extensions[TIER_PLAN_EXTENSION]
    return plan
