"""`/gateway/*`: the gateway's own endpoints (not part of the Management API surface)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from app.auth import Principal, current_principal
from app.catalog import CATALOG, GATEWAY_ACTIONS, Operation
from app.management import plans
from app.state import settings

bp = Blueprint("gateway", __name__, url_prefix="/gateway")


def allowed_operations(principal: Principal) -> list[Operation]:
    """Operations the caller may use at least in part, in catalog order (field-level
    permissions may still refuse some bodies: see `allowed_fields`)."""
    return [op for op in (*CATALOG, *GATEWAY_ACTIONS)
            if op.entry_permissions & principal.permissions and plans.offered(op, settings())]


def allowed_fields(principal: Principal, operation: Operation) -> list[str]:
    """The body fields with a permission of their own that the caller may send."""
    return sorted(name for name, permission in operation.field_permissions.items()
                  if operation.required_permissions([name]) <= principal.permissions)


def _describe(principal: Principal, operation: Operation) -> dict[str, object]:
    entry: dict[str, object] = {"operation_id": operation.operation_id,
                                "method": operation.method, "path": operation.gateway_path}
    if operation.field_permissions:
        entry["fields"] = allowed_fields(principal, operation)
    return entry


@bp.get("/me")
def me() -> Response:
    """Who am I, what may I do: lets a panel hide what the caller cannot use."""
    principal = current_principal()
    response = jsonify(
        subject=principal.subject,
        client_id=principal.client_id,
        org_id=principal.org_id,
        department=principal.department,
        roles=list(principal.roles),
        permissions=sorted(principal.permissions),
        is_machine=principal.is_machine,
        expires_at=principal.expires_at,
        operations=[_describe(principal, op) for op in allowed_operations(principal)],
    )
    # Personal data: never stored by shared caches (RFC 9111 §5.2.2.5).
    response.headers["Cache-Control"] = "no-store"
    return response
