"""`/gateway/*`: the gateway's own endpoints (not part of the Management API surface)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from app.auth import Principal, current_principal
from app.catalog import CATALOG, Operation

bp = Blueprint("gateway", __name__, url_prefix="/gateway")


def allowed_operations(principal: Principal) -> list[Operation]:
    """Operations whose base permission the caller has (field-level ones may still refuse
    some bodies), in catalog order."""
    return [op for op in CATALOG if principal.has(op.permission)]


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
        operations=[{"operation_id": op.operation_id, "method": op.method,
                     "path": op.gateway_path} for op in allowed_operations(principal)],
    )
    # Personal data: never stored by shared caches (RFC 9111 §5.2.2.5).
    response.headers["Cache-Control"] = "no-store"
    return response
