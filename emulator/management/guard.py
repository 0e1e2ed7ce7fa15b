"""What every ``/api/v2`` request goes through before its handler, in Auth0's order.

record the request -> rate limit (token bucket) -> injected failure ->
injected 401 -> bearer token -> scopes -> query validation -> handler.
Every answer, errors included, carries the ``x-ratelimit-*`` headers and is
added to ``tenant.request_log``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from emulator.context import tenant
from emulator.errors import RATE_LIMITED, ManagementError, forced_failure
from emulator.management import auth
from emulator.management.spec import API_PREFIX, Operation, operations
from emulator.management.validation import parse_query
from emulator.models import RecordedRequest
from emulator.ratelimit import BucketState
from emulator.tenant import Tenant

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

ENDPOINT_PREFIX = "mgmt."


def install(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(_after)


def current_operation() -> Operation | None:
    endpoint = request.url_rule.endpoint if request.url_rule is not None else ""
    if not endpoint.startswith(ENDPOINT_PREFIX):
        return None
    return operations().get(endpoint[len(ENDPOINT_PREFIX):])


def caller() -> auth.Caller:
    found: auth.Caller = g.mgmt_caller
    return found


def query() -> dict[str, Any]:
    found: dict[str, Any] = g.mgmt_query
    return found


def _raw_path() -> str:
    # Exactly what arrived on the request line, before any percent-decoding.
    env = request.environ
    return str(env.get("RAW_URI") or env.get("REQUEST_URI") or request.full_path)


def _start_record(op: Operation | None) -> RecordedRequest:
    return RecordedRequest(
        method=request.method,
        raw_path=_raw_path(),
        route=op.route if op else None,
        params=dict(request.view_args or {}),
        query={k: request.args.getlist(k) for k in request.args},
        json=request.get_json(silent=True) if request.data else None,
        client_id=None,
        scopes=[],
        traceparent=request.headers.get("traceparent"),
    )


def _before() -> Response | None:
    if not request.path.startswith(API_PREFIX):
        return None
    t = tenant()
    op = current_operation()
    g.mgmt_record = _start_record(op)
    with t.lock:
        t.calls[op.key if op else f"{request.method} {request.path}"] += 1
    faults = t.faults
    state = faults.management_bucket.take()
    g.mgmt_rate = state
    if not state.allowed:
        headers = {"Retry-After": str(state.retry_after())} if faults.retry_after else {}
        raise ManagementError(429, RATE_LIMITED, "too_many_requests", headers=headers)
    forced = faults.take_failure(request.path)
    if forced is not None:
        g.mgmt_forced = forced
        return forced_failure(forced, oauth=False, scopes=op.scopes if op else ())
    if op is None:
        return None  # routing answers 404/405
    if faults.take_unauthorized():
        raise auth.unauthorized()
    who = auth.authenticate(t, request.headers.get("Authorization"))
    g.mgmt_record.client_id = who.client_id
    g.mgmt_record.scopes = who.scopes
    g.mgmt_caller = who
    auth.authorize(op, who, (request.view_args or {}).get("id"))
    g.mgmt_query = parse_query(op, request.args)
    return None


def _after(response: Response) -> Response:
    if not request.path.startswith(API_PREFIX):
        return response
    state: BucketState | None = g.get("mgmt_rate")
    if state is not None:
        response.headers.update(state.headers())
        if g.get("mgmt_forced") == 429:
            response.headers["x-ratelimit-remaining"] = "0"
            if tenant().faults.retry_after:
                response.headers["Retry-After"] = "1"
    record: RecordedRequest | None = g.get("mgmt_record")
    if record is not None:
        record.status = response.status_code
        record.response_json = response.get_json(silent=True) if response.is_json else None
        record.headers = dict(response.headers)
        tenant().record(record)
    return response


def record_dropped(app: Flask, t: Tenant, environ: WSGIEnvironment) -> None:
    """Count and log a Management request whose connection a fault dropped (status 0)."""
    path = environ.get("PATH_INFO", "")
    if not path.startswith(API_PREFIX):
        return
    method = environ.get("REQUEST_METHOD", "GET")
    op: Operation | None = None
    params: dict[str, str] = {}
    try:
        endpoint, args = app.url_map.bind_to_environ(environ).match()
        if isinstance(endpoint, str) and endpoint.startswith(ENDPOINT_PREFIX):
            op = operations().get(endpoint[len(ENDPOINT_PREFIX):])
            params = {k: str(v) for k, v in args.items()}
    except HTTPException:
        pass
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    with t.lock:
        t.calls[op.key if op else f"{method} {path}"] += 1
    t.record(RecordedRequest(
        method=method, raw_path=str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or path),
        route=op.route if op else None, params=params, query=query, json=None,
        client_id=None, scopes=[], status=0))
