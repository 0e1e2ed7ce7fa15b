"""Guardrails: per-caller rate limits, the fleet-wide Management API budget, delegated
scope and escalation protection (see docs/guardrails.md).

Importing this package registers the guardrails' policy sections (`[limits]`,
`[scope]`, `[protection]`, `assignable_roles`) with the policy loader, so it
must be imported before the policy is loaded; `init_app` wires the pieces into
one app: flask-limiter, the budget hooks on the Management client, and the
facade's GUARDS and OBSERVERS.
"""

from __future__ import annotations

from flask import Flask

from config.settings import Settings

from .. import redis_conn
from ..api.pipeline import GUARDS, OBSERVERS
from . import budget, escalation, ratelimit, scope

__all__ = ["budget", "escalation", "init_app", "ratelimit", "scope"]

# Order matters: scope first, so that a user outside the caller's scope is a 404
# before escalation checks could reveal anything about them (e.g. their roles).
_GUARDS = (scope.scope_guard, escalation.escalation_guard)
_OBSERVERS = (scope.filter_results,)


def init_app(app: Flask, settings: Settings) -> None:
    """Call after the facade (its Management client gets the budget hooks)."""
    from ..api.facade import management_client_of

    ratelimit.init_app(app, settings)
    budget.init_app(app, settings, management_client_of(app), redis_conn.redis_client(app))
    for guard in _GUARDS:
        if guard not in GUARDS:
            GUARDS.append(guard)
    for observer in _OBSERVERS:
        if observer not in OBSERVERS:
            OBSERVERS.insert(0, observer)  # before the audit trail sees the answer
