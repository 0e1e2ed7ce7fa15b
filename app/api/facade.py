"""The /api/v2 facade: one route per catalog operation, Auth0's paths and JSON.

Each request goes: authenticate → parse body → authorize (field-level) →
validate → guards → least-privileged tier → Management API → response filter.
Routes exist only for catalog rows, so anything else under /api/v2 is a 404
that never reaches the token broker or Auth0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Flask, Response, current_app, g, json, request

from .. import auth
from ..catalog import CATALOG, Operation
from ..errors import Problem
from ..management import client as management_client
from ..management.client import ManagementClient
from ..management.response_filter import filter_response
from ..management.tiers import choose_tier
from ..schemas.requests import validator_for
from .pipeline import GUARDS, OBSERVERS, Call

EXTENSION = "admin_gateway.management_client"
bp = Blueprint("facade", __name__)


def upstream_path(operation: Operation, path_params: dict[str, str]) -> str:
    """Auth0's path with every parameter percent-encoded as ONE segment.

    `auth0|123` stays one segment; `/`, `%2F`, `..`, NUL and control characters
    can never change which upstream path is called (validation already refuses
    most of them; encoding with safe="" is the second wall).
    """
    return operation.path.format(**{name: quote(value, safe="")
                                    for name, value in path_params.items()})


def _json_body(operation: Operation) -> Any:
    has_body = bool(request.content_length) or "chunked" in request.headers.get(
        "Transfer-Encoding", "").lower()
    if not has_body:
        return None
    if validator_for(operation.operation_id).body is None:
        raise Problem(400, "This operation takes no request body.", title="Invalid request",
                      slug="invalid-request")
    # 415 for a non-JSON Content-Type, 400 for malformed JSON (werkzeug's own errors).
    return request.get_json()


def management_client_of(app: Flask) -> ManagementClient:
    client = app.extensions[EXTENSION]
    assert isinstance(client, ManagementClient)
    return client


def handle(operation: Operation, path_params: dict[str, str]) -> Response:
    g.operation = operation
    auth.current_principal()  # 401 before anything about the request is revealed
    body = _json_body(operation)
    fields = tuple(body) if isinstance(body, dict) else ()
    principal = auth.authorize(operation, fields)
    validated = validator_for(operation.operation_id).validate(path_params, request.args, body)
    call = Call(operation, principal, validated)
    g.call = call
    try:
        for guard in GUARDS:
            guard(call)
        if call.status is None:  # a guard that already fetched the answer sets it
            settings = current_app.config["SETTINGS"]
            call.tier = choose_tier(operation, fields, settings.tiers)
            result = management_client_of(current_app).call(
                operation, call.tier, upstream_path(operation, validated.path),
                validated.upstream_query(), validated.body)
            call.status, call.response = result.status, result.body
        call.response = filter_response(call.response)
    except Problem as problem:
        call.status, call.problem = problem.code, problem.title
        raise
    finally:
        for observe in OBSERVERS:
            observe(call)
    if call.response is None:
        return Response(status=call.status)
    return Response(json.dumps(call.response), status=call.status, mimetype="application/json")


def _view(operation: Operation) -> Callable[..., Response]:
    def view(**path_params: str) -> Response:
        return handle(operation, path_params)
    view.__name__ = operation.operation_id.replace("-", "_")
    return view


for _operation in CATALOG:
    bp.add_url_rule(_operation.flask_rule, view_func=_view(_operation),
                    methods=[_operation.method])


def init_app(app: Flask) -> None:
    from ..management import broker

    tokens = broker(app)
    # One pooled session per process for every call to Auth0 (tokens and Management API).
    app.extensions[EXTENSION] = management_client.ManagementClient(
        app.config["SETTINGS"], tokens, session=tokens.session)
    app.register_blueprint(bp)
