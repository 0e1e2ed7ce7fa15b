"""GET /gateway/audit: read the audit trail (permission `audit:read`), newest first,
filtered and paged with a cursor.

    GET /gateway/audit?actor=auth0|123&outcome=denied&since=2025-01-01T00:00:00Z&limit=50

Filters and paging: README.md, "Audit trail"; design: docs/guardrails.md, "Audit trail".
"""

from __future__ import annotations

import datetime
from typing import Any

import redis
from flask import Blueprint, Response, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..audit import APPROVAL_OPERATION, AUDIT_OPERATION, OUTCOMES, record_refusal, trail
from ..auth import current_principal
from ..catalog import NAMED
from ..errors import Problem, forbidden
from ..guards import scope

bp = Blueprint("audit", __name__, url_prefix="/gateway")

PERMISSION = "audit:read"
MAX_LIMIT = 100
MAX_SCANNED = 5000
OPERATIONS = (*NAMED, AUDIT_OPERATION, APPROVAL_OPERATION)


class Timestamp(fields.Field[float]):
    """ISO-8601 (naive means UTC) or seconds since the epoch, as epoch seconds."""

    default_error_messages = {  # noqa: RUF012 - marshmallow's own convention
        "invalid": "Not a time: use ISO-8601 (2025-01-31T12:00:00Z) or epoch seconds."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if 0 <= number < 1e11:
                return number
            raise self.make_error("invalid")
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self.make_error("invalid") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        seconds = moment.timestamp()
        if not 0 <= seconds < 1e11:  # stream ids start at the epoch
            raise self.make_error("invalid")
        return seconds


class AuditQuery(Schema):
    class Meta:
        unknown = RAISE

    actor = fields.String(validate=validate.Length(1, 256))
    target = fields.String(validate=validate.Length(1, 256))
    operation = fields.String(validate=validate.OneOf(OPERATIONS))
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    since = Timestamp()
    until = Timestamp()
    cursor = fields.String(validate=validate.Regexp(r"^\d{1,20}-\d{1,20}\Z",
                                                    error="Not a cursor from next_cursor."))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, MAX_LIMIT))

    @validates_schema
    def _cursor(self, data: dict[str, Any], **_: Any) -> None:
        # Redis stream ids are two unsigned 64-bit numbers, and 0-0 precedes every event:
        # anything else would reach Redis as an error, not as a page.
        cursor = data.get("cursor")
        if cursor is not None and (cursor == "0-0" or any(
                int(part) >= 2 ** 64 for part in cursor.split("-"))):
            raise ValidationError("Not a cursor from next_cursor.", "cursor")

    @validates_schema
    def _window(self, data: dict[str, Any], **_: Any) -> None:
        if "since" in data and "until" in data and data["since"] > data["until"]:
            raise ValidationError("since is after until.", "since")


_SCHEMA = AuditQuery()


def _query() -> dict[str, Any]:
    repeated = sorted(name for name in request.args if len(request.args.getlist(name)) > 1)
    if repeated:
        errors: dict[str, Any] = {name: ["Given more than once."] for name in repeated}
    else:
        try:
            loaded: dict[str, Any] = _SCHEMA.load(request.args.to_dict())
            return loaded
        except ValidationError as exc:
            errors = exc.normalized_messages()  # type: ignore[no-untyped-call]
    raise Problem(400, f"Invalid query parameter(s): {', '.join(sorted(errors))}.",
                  title="Invalid request", slug="invalid-request", extra={"errors": errors})


def _matches(event: dict[str, Any], query: dict[str, Any]) -> bool:
    actor = event.get("actor") or {}
    return ((query.get("actor") is None or actor.get("sub") == query["actor"])
            and (query.get("target") is None or event.get("target") == query["target"])
            and (query.get("operation") is None or event.get("operation") == query["operation"])
            and (query.get("outcome") is None or event.get("outcome") == query["outcome"])
            and (query.get("since") is None or event.get("ts", 0) >= query["since"])
            and (query.get("until") is None or event.get("ts", 0) <= query["until"]))


def _bounds(query: dict[str, Any]) -> tuple[str, str]:
    """XREVRANGE bounds: stream ids start with the millisecond they were added."""
    newest = "+"
    if "until" in query:
        newest = str(int(query["until"] * 1000) + 1000)  # the event's ts precedes its id
    if "cursor" in query:
        newest = "(" + query["cursor"]
    oldest = str(max(0, int(query["since"] * 1000) - 1000)) if "since" in query else "-"
    return newest, oldest


@bp.get("/audit")
def list_events() -> Response:
    principal = current_principal()
    # The trail names every user's events: delegated scope does not filter it, so reading
    # it also takes the permission that lifts the scope.
    unrestricted = scope.config().unrestricted_permission
    for needed, why in ((PERMISSION, "Reading the audit trail needs the permission "
                                     "audit:read."),
                        (unrestricted, f"The audit trail shows every user's events, so reading "
                                       f"it also needs the permission {unrestricted}.")):
        if not principal.has(needed):
            refusal = forbidden(needed, why)
            record_refusal(None, 403, "insufficient-permission", str(refusal.description),
                           operation_id=AUDIT_OPERATION)
            raise refusal
    query = _query()
    newest, oldest = _bounds(query)
    events: list[dict[str, Any]] = []
    next_cursor: str | None = None
    scanned = 0
    try:
        for stream_id, event in trail().scan(newest=newest, oldest=oldest):
            scanned += 1
            if _matches(event, query):
                events.append({"id": stream_id, **event})
                if len(events) == query["limit"]:
                    next_cursor = stream_id
                    break
            if scanned >= MAX_SCANNED:
                next_cursor = stream_id
                break
    except redis.ResponseError:
        # Redis refused the range itself (the query's bounds), not a connection problem.
        raise Problem(400, "The audit query's time window or cursor is out of range.",
                      title="Invalid request", slug="invalid-request") from None
    except redis.RedisError:
        raise Problem(503, "The audit trail's store (Redis) is unavailable; events are still "
                           "written to the log.", slug="audit-unavailable",
                      headers={"Retry-After": "5"}) from None
    response = jsonify(events=events, next_cursor=next_cursor)
    response.headers["Cache-Control"] = "no-store"
    return response
