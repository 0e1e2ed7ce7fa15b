"""Typed access to what the factory put on the current app (settings, the policy) and
to the current request's catalog operation: the one way every module reads them."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request

from config.settings import Settings

from .auth.extension import authenticator
from .auth.policy import Policy
from .catalog import BY_ROUTE, Operation

SETTINGS_KEY = "SETTINGS"


def settings() -> Settings:
    value = current_app.config[SETTINGS_KEY]
    assert isinstance(value, Settings)
    return value


def policy() -> Policy:
    return authenticator().policy


def policy_section(name: str, default: Any) -> Any:
    """The parsed value of a policy section (its owner's dataclass), or `default`."""
    return policy().sections.get(name, default)


def current_operation() -> Operation | None:
    """The catalog operation the current request was routed to (also before its view has
    run: a 429 from the per-caller limits, a 401 raised in before_request)."""
    if not has_request_context():
        return None
    rule = request.url_rule
    if rule is None:
        return None
    return BY_ROUTE.get((rule.rule, request.method))
