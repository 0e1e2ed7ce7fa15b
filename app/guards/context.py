"""What the guardrails need from the current request: its catalog operation, the
policy, and read-only Management API lookups through the same client and budget."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, has_request_context, request

from config.settings import Settings

from ..auth import authenticator
from ..auth.policy import Policy
from ..catalog import BY_ID, CATALOG, Operation
from ..management.client import UpstreamResult
from ..management.tiers import choose_tier


def current_operation() -> Operation | None:
    """The catalog operation of this request, also before the facade's view has run
    (a 429 from the per-caller limits or a 401 raised in before_request)."""
    if not has_request_context():
        return None
    found = g.get("operation")
    if isinstance(found, Operation):
        return found
    rule = request.url_rule
    if rule is None:
        return None
    return _BY_RULE.get((rule.rule, request.method))


_BY_RULE: dict[tuple[str, str], Operation] = {(op.flask_rule, op.method): op for op in CATALOG}


def settings() -> Settings:
    found: Settings = current_app.config["SETTINGS"]
    return found


def policy() -> Policy:
    return authenticator().policy


def policy_section(name: str, default: Any) -> Any:
    return policy().sections.get(name, default)


def management_read(operation_id: str, path: dict[str, str],
                    query: list[tuple[str, str]] | None = None) -> UpstreamResult:
    """A GET through the least-privileged tier, the fleet budget and the client's error
    mapping (a missing user raises the same 404 Problem the facade would return)."""
    from ..api.facade import management_client_of, upstream_path

    operation = BY_ID[operation_id]
    assert not operation.is_write
    tier = choose_tier(operation, (), settings().tiers)
    return management_client_of(current_app).call(
        operation, tier, upstream_path(operation, path), query or [], None)
