"""The /api/v2 facade: one route per catalog operation, Auth0's paths and JSON.

`handle` is the whole request pipeline, one named step per line. Routes exist
only for catalog rows, so anything else under /api/v2 is a 404 that never
reaches the token broker or Auth0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from .. import audit, auth
from ..auth.principal import Principal
from ..call import Call
from ..catalog import CATALOG, Operation
from ..errors import Problem
from ..guards import approvals, escalation, scope, stepup
from ..management import plans, upstream
from ..management.response_filter import filter_response
from ..schemas.requests import validator_for
from ..state import settings

bp = Blueprint("facade", __name__)


def handle(operation: Operation, path_params: dict[str, str]) -> Response:
    """Every step of a facade request, in order (README, "Request flow").

    The per-caller rate limit has already been counted before the view (with the
    budget's token for the first Management call, in the same Redis round trip).
    """
    principal: Principal | None = None
    body: Any = None
    call: Call | None = None
    try:
        principal = auth.current_principal()  # authenticate: 401 before anything else
        body = _json_body(operation)  # parse the body (415/400/413)
        fields = tuple(body) if isinstance(body, dict) else ()
        auth.authorize(operation, fields)  # authorize, field by field: 403/400
        plans.require(operation, settings())  # Enterprise-only operations on other plans: 403
        stepup.check(operation, fields, principal)  # RFC 9470: a fresh MFA login, or 401
        validated = validator_for(operation).validate(path_params, request.args, body)
        call = Call(operation, principal, validated, fields, fresh=_no_cache())
        scope.check(call)  # delegated scope: restrict q, or read and check the target
        escalation.check(call)  # self-actions, assignable roles, protected users
        approvals.hold(call, request.headers.get("X-Approval-Reason"))  # four eyes: 202
        if not call.answered:  # (the scope check's read may already be the answer)
            call.tier = upstream().tier_for(operation, fields)  # the start-up tier plan
            # The Management call (the budget per attempt; identical reads shared).
            result = upstream().send(operation, call.tier, validated.path,
                                     validated.upstream_query(), validated.body,
                                     fresh=call.fresh)
            call.status, call.response = result.status, result.body
        scope.filter_results(call)  # lookups filtered; a search leak is a 502 tripwire
        call.response = filter_response(call.response)  # never an IdP token
    except HTTPException as refused:  # audit: every write, and refusals of reads
        audit.record_call(operation, principal, body, call, refused.code or 500, refused)
        raise
    except Exception:
        audit.record_call(operation, principal, body, call, 500)
        raise
    assert call.status is not None
    audit.record_call(operation, principal, body, call, call.status)
    return _response(call.status, call.response)


def _json_body(operation: Operation) -> Any:
    has_body = bool(request.content_length) or "chunked" in request.headers.get(
        "Transfer-Encoding", "").lower()
    if not has_body:
        return None
    if validator_for(operation).body is None:
        raise Problem(400, "This operation takes no request body.", title="Invalid request",
                      slug="invalid-request")
    # 415 for a non-JSON Content-Type, 400 for malformed JSON (werkzeug's own errors).
    return request.get_json()


def _no_cache() -> bool:
    """RFC 9111 §5.2.1.4: the caller wants an answer validated with the origin (Auth0)."""
    directives = request.headers.get("Cache-Control", "").lower().replace(" ", "").split(",")
    return "no-cache" in directives or "no-store" in directives


def _response(status: int, body: Any) -> Response:
    if body is None:
        return Response(status=status)
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _view(operation: Operation) -> Callable[..., Response]:
    def view(**path_params: str) -> Response:
        return handle(operation, path_params)
    view.__name__ = operation.operation_id.replace("-", "_")
    return view


for _operation in CATALOG:
    bp.add_url_rule(_operation.flask_rule, view_func=_view(_operation),
                    methods=[_operation.method])


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
