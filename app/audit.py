"""The audit trail: who did what to whom, with which outcome, through which tier.

`record_call` (the facade's last step) turns every write and every denied attempt
into one event, `record_refusal` the limiter's 429 and the audit endpoint's 403;
events go to the log and to a capped Redis stream that GET /gateway/audit reads. Both also
give the request's span (when tracing is on) the outcome and tier, for every request.

Design: docs/guardrails.md, "Audit trail"; the event: README.md, "Audit trail".
"""

from __future__ import annotations

import datetime
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, current_app, g, request
from werkzeug.exceptions import HTTPException

from config.settings import Settings

from . import metrics, tracing
from .auth.policy import Locator
from .auth.principal import Principal
from .call import Call
from .catalog import Operation
from .errors import Problem
from .observability import redact
from .redis_conn import Breaker, redis_client
from .redis_conn import key as redis_key
from .state import policy_section

log = logging.getLogger("admin_gateway.audit")

SECTION = "audit"
EXTENSION = "admin_gateway.audit"
AUDIT_OPERATION = "gateway_audit"
APPROVAL_OPERATION = "gateway_approval"  # decisions on four-eyes approval requests
OUTCOMES = ("allowed", "denied", "failed", "held")  # held: waiting for approval (202)
SENSITIVE_FIELDS = frozenset({"password", "client_secret"})
METADATA_FIELDS = ("app_metadata", "user_metadata")
MAX_VALUE_CHARS = 256
MAX_DETAIL_CHARS = 300
MAX_FIELDS = 50
_METADATA_PATH = re.compile(r"^(app_metadata|user_metadata)\.[A-Za-z0-9_-]+\Z")


@dataclass(frozen=True)
class AuditConfig:
    metadata_values: frozenset[str] = frozenset()


def parse_section(raw: Any, locate: Locator, problems: list[str]) -> AuditConfig:
    """`[audit] metadata_values = ["app_metadata.department"]`: metadata keys whose values
    may be recorded (all others are recorded by name only)."""
    if not isinstance(raw, dict):
        problems.append(f"{locate.where(key=SECTION)}: [audit] must be a table")
        return AuditConfig()
    unknown = set(raw) - {"metadata_values"}
    if unknown:
        problems.append(f"{locate.where(section=(SECTION,))}: [audit]: unknown key(s) "
                        f"{', '.join(sorted(unknown))}; allowed: metadata_values")
    values = raw.get("metadata_values", [])
    if not isinstance(values, list) or not all(
            isinstance(v, str) and _METADATA_PATH.match(v) for v in values):
        problems.append(f"{locate.where(section=(SECTION,), key='metadata_values')}: "
                        f"metadata_values must list keys such as \"app_metadata.department\"")
        values = []
    return AuditConfig(frozenset(values))


def _config() -> AuditConfig:
    found = policy_section(SECTION, AuditConfig())
    assert isinstance(found, AuditConfig)
    return found


# -- building events ------------------------------------------------------------------


def _safe_value(value: Any) -> Any:
    """A value fit for the trail: scalars and short lists of scalars, strings redacted."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return redact(value)[:MAX_VALUE_CHARS]
    if isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value):
        return [_safe_value(v) for v in value[:MAX_FIELDS]]
    if _flat(value):  # e.g. an invitation's invitee: {email}
        return {redact(str(k))[:64]: _safe_value(v) for k, v in list(value.items())[:MAX_FIELDS]}
    if isinstance(value, list) and all(_flat(v) for v in value):
        # e.g. the permissions a grant names: {permission_name, resource_server_identifier}.
        return [_safe_value(item) for item in value[:MAX_FIELDS]]
    return "[structured]"


def _flat(value: Any) -> bool:
    """An object of scalars only."""
    return isinstance(value, dict) and all(
        v is None or isinstance(v, (str, int, float, bool)) for v in value.values())


def changed_fields(body: Any, metadata_values: frozenset[str] = frozenset()
                   ) -> tuple[list[str], dict[str, Any]]:
    """(field names, recordable values) of a request body."""
    if not isinstance(body, dict):
        return [], {}
    names: list[str] = []
    values: dict[str, Any] = {}
    for name, value in list(body.items())[:MAX_FIELDS]:
        name = redact(str(name))[:64]
        if name in METADATA_FIELDS and isinstance(value, dict) and value:
            for sub in list(value)[:MAX_FIELDS]:
                path = f"{name}.{redact(str(sub))[:64]}"
                names.append(path)
                if path in metadata_values:
                    values[path] = _safe_value(value[sub])
            continue
        names.append(name)
        if name not in SENSITIVE_FIELDS and name not in METADATA_FIELDS:
            values[name] = _safe_value(value)
    return sorted(names), values


def outcome_of(status: int, out_of_scope: bool = False) -> str:
    if status < 400:
        return "allowed"
    if status in (401, 403, 429) or (status == 404 and out_of_scope):
        return "denied"
    return "failed"


def _now() -> tuple[str, float]:
    moment = datetime.datetime.now(datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"), moment.timestamp()


def build_event(*, operation: str, method: str, principal: Principal | None, ip: str | None,
                target: str | None, body: Any, status: int, reason: str | None,
                detail: str | None, tier: str | None, out_of_scope: bool = False,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    when, ts = _now()
    fields, values = changed_fields(body, _config().metadata_values)
    event: dict[str, Any] = {
        "time": when,
        "ts": round(ts, 3),
        "request_id": getattr(g, "request_id", None),
        "actor": {"sub": principal.subject if principal else None, "ip": ip,
                  "client_id": principal.client_id if principal else None},
        "operation": operation,
        "method": method,
        "target": redact(target)[:MAX_VALUE_CHARS] if target else None,
        "fields": fields,
        "values": values,
        "outcome": outcome_of(status, out_of_scope),
        "status": status,
        "tier": tier,
    }
    if reason:
        event["reason"] = reason[:64]
    if detail:
        event["detail"] = redact(detail)[:MAX_DETAIL_CHARS]
    if out_of_scope:
        event["reason"] = "outside-scope"
    event.update(extra or {})  # approvals: the request id, approvers, "held"
    return event


# -- the sinks ---------------------------------------------------------------------------


class AuditTrail:
    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.settings = settings
        self.client = client
        self.stream = redis_key(settings, "audit")
        self.breaker = Breaker("audit")

    def record(self, event: dict[str, Any]) -> str | None:
        """Log the event and add it to the stream; the stream id, or None if only logged."""
        stream_id: str | None = None
        if self.breaker.closed:
            try:
                raw = self.client.xadd(self.stream, {"event": json.dumps(event)},
                                       maxlen=self.settings.audit_stream_maxlen,
                                       approximate=True)
                stream_id = raw.decode() if isinstance(raw, bytes) else str(raw)
                self.breaker.succeeded()
            except redis.RedisError as exc:
                self.breaker.failed(exc)
        metrics.AUDIT_EVENTS.labels(event["outcome"],
                                    "stream" if stream_id else "log_only").inc()
        log.info("audit %s %s %s %s", event["operation"], event["outcome"], event["status"],
                 event["actor"]["sub"] or event["actor"]["ip"],
                 extra={"audit": event, "stream_id": stream_id})
        return stream_id

    def scan(self, *, newest: str, oldest: str, batch: int = 200
             ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Events from `newest` down to `oldest` (XREVRANGE bounds); raises RedisError."""
        upper = newest
        while True:
            entries: list[Any] = list(
                self.client.xrevrange(self.stream, max=upper, min=oldest, count=batch) or [])
            for raw_id, fields in entries:
                stream_id = _text(raw_id)
                payload = (fields or {}).get(b"event") or (fields or {}).get("event")
                try:
                    event = json.loads(payload) if payload is not None else None
                except (TypeError, ValueError):
                    continue
                if isinstance(event, dict):
                    yield stream_id, event
            if len(entries) < batch:
                return
            upper = "(" + _text(entries[-1][0])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def trail(app: Flask | None = None) -> AuditTrail:
    found = (app or current_app).extensions[EXTENSION]
    assert isinstance(found, AuditTrail)
    return found


# -- what gets recorded --------------------------------------------------------------


def _audited(is_write: bool, status: int, out_of_scope: bool) -> bool:
    """Every write, whatever its outcome; reads only when refused (403) or out of scope."""
    return is_write or status == 403 or out_of_scope


def _reason_and_detail(failure: HTTPException | None) -> tuple[str | None, str | None]:
    if failure is None:
        return None, None
    reason = failure.type.rsplit("/", 1)[-1] if isinstance(failure, Problem) \
        and failure.type != "about:blank" else None
    code = failure.code or 500
    # What the caller was told (app/errors.py hides the details of 5xx it did not raise).
    detail = failure.description if isinstance(failure, Problem) or code < 500 else None
    return reason, detail


def record_call(operation: Operation, principal: Principal | None, body: Any,
                call: Call | None, status: int, failure: HTTPException | None = None, *,
                approval: tuple[str, tuple[str, ...]] | None = None,
                action_steps: list[dict[str, Any]] | None = None) -> None:
    """The facade's one audit step: an event from the finished call, or from how far a
    refused request got (`call` is None when it failed before validation; `body` is None
    when it failed before the body was read)."""
    out_of_scope = call is not None and call.out_of_scope
    tier = call.tier.name if call is not None and call.tier else None
    held = status == 202 and call is not None and bool(call.approval_id) \
        and not call.approved_by
    # The request's span (tracing on) gets the same verdict, audited or not.
    tracing.tag_outcome("held" if held else outcome_of(status, out_of_scope), tier)
    if not _audited(operation.is_write, status, out_of_scope):
        return
    if call is not None:
        body, target = call.request.body, call.target_user
    else:
        target = _path_target(operation)
        if target is None and isinstance(body, dict) and operation.target_user:
            value = body.get(operation.target_user)
            target = value if isinstance(value, str) else None
    if target is None and call is not None and isinstance(call.response, dict) \
            and status < 300:
        created = call.response.get("user_id")  # POST /users: the new user
        target = created if isinstance(created, str) else None
    reason, detail = _reason_and_detail(failure)
    extra = _approval_fields(call, status, approval)
    resource = _resource(operation, call)
    if resource:  # what else the path names: the organization, session, identity, ...
        extra["resource"] = resource
    if action_steps is not None:  # a gateway action: what each Management call did
        extra["steps"] = [{k: v for k, v in step.items() if k != "detail"}
                          for step in action_steps]
    _write(operation.operation_id, operation.method, principal, target, body, status, reason,
           detail, tier, out_of_scope, extra)


def _resource(operation: Operation, call: Call | None) -> dict[str, Any]:
    """The path parameters besides the target user, as the request named them."""
    if call is not None:
        path = call.request.path
    else:
        raw = request.view_args or {}
        path = {k: v for k, v in raw.items() if isinstance(v, str)}
    return {name: _safe_value(value) for name, value in path.items()
            if name != operation.target_user}


def _approval_fields(call: Call | None, status: int,
                     approval: tuple[str, tuple[str, ...]] | None) -> dict[str, Any]:
    """A held request (202) names its approval; an executed one also who approved it."""
    if approval is None and call is not None and call.approval_id:
        approval = (call.approval_id, call.approved_by)
    if approval is None:
        return {}
    fields: dict[str, Any] = {"approval": {"id": approval[0],
                                           "approved_by": list(approval[1])}}
    if status == 202 and not approval[1]:
        fields["outcome"] = "held"
    return fields


def record_approval(decision: str, approval_id: str, target: str | None, status: int,
                    reason: str | None, detail: str | None, requester: str | None) -> None:
    """A decision on an approval request (approve, reject, expire), or its refusal; the
    actor is the approver (the execution itself is recorded by `record_call`)."""
    _write(APPROVAL_OPERATION, request.method, _known_principal(), target, None, status,
           reason, detail, None, False,
           {"approval": {"id": approval_id, "decision": decision, "requester": requester}})


def record_refusal(operation: Operation | None, status: int, reason: str, detail: str,
                   *, operation_id: str | None = None) -> None:
    """A refusal outside the facade's pipeline: the per-caller rate limit (before any view)
    and the audit endpoint's own 403."""
    name = operation.operation_id if operation else operation_id
    is_write = operation.is_write if operation else False
    tracing.tag_outcome(outcome_of(status), None)
    if name is None or not _audited(is_write, status, False):
        return
    target = _path_target(operation) if operation else None
    _write(name, request.method, _known_principal(), target, _request_body(), status, reason,
           detail, None, False)


def _request_body() -> Any:
    """The body's field names are part of the event, even when nothing else read it."""
    try:
        return request.get_json(silent=True)
    except Exception:  # noqa: BLE001 - a 413 or unreadable body: record no fields
        return None


def _known_principal() -> Principal | None:
    principal = g.get("principal")  # set by authentication when the token was valid
    return principal if isinstance(principal, Principal) else None


def _path_target(operation: Operation) -> str | None:
    if operation.target_user is None:
        return None
    value = (request.view_args or {}).get(operation.target_user)
    return value if isinstance(value, str) else None


def _write(operation_id: str, method: str, principal: Principal | None, target: str | None,
           body: Any, status: int, reason: str | None, detail: str | None, tier: str | None,
           out_of_scope: bool, extra: dict[str, Any] | None = None) -> None:
    try:
        event = build_event(operation=operation_id, method=method, principal=principal,
                            ip=request.remote_addr, target=target, body=body, status=status,
                            reason=reason, detail=detail, tier=tier, out_of_scope=out_of_scope,
                            extra=extra)
        trail().record(event)
    except Exception:  # noqa: BLE001 - the audit trail must never break a request
        log.exception("could not write an audit event")


def init_app(app: Flask, settings: Settings) -> AuditTrail:
    found = AuditTrail(settings, redis_client(app))
    app.extensions[EXTENSION] = found
    return found
