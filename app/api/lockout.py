"""`POST /gateway/users/{id}/lock-out`: block the user and revoke every session and
refresh token, in one call, audited as one event.

The same checks as a facade write (authenticate, authorize, step-up, delegated scope,
escalation protection), then each step of `LOCK_OUT_STEPS` with its own operation's
tier. Every step runs even when an earlier one failed (a revoked session is worth
having even if the block failed), and the answer reports each step's outcome. Running
it again is harmless: a blocked user stays blocked, nothing left is nothing revoked.
It is never held for four-eyes approval: it is the emergency brake.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, json, request
from werkzeug.exceptions import HTTPException

from .. import audit, auth
from ..call import Call
from ..catalog import LOCK_OUT, LOCK_OUT_STEPS, ActionStep
from ..errors import Problem, problem_type
from ..guards import escalation, scope, stepup
from ..management import plans, upstream
from ..schemas.from_spec import USER_ID_RE
from ..schemas.requests import ValidatedRequest
from ..state import settings

bp = Blueprint("lockout", __name__)


def _run(step: ActionStep, user_id: str) -> dict[str, Any]:
    """One step's outcome: done, not-offered (the Auth0 plan) or failed, with Auth0's
    status and the problem's detail."""
    operation = step.operation
    if not plans.offered(operation, settings()):
        return {"step": step.name, "outcome": "not-offered",
                "detail": plans.plan_required().description}
    try:
        tier = upstream().tier_for(operation, tuple(step.body))
        result = upstream().send(operation, tier, {"id": user_id}, [], dict(step.body))
    except Problem as failed:
        outcome = "not-offered" if failed.type == problem_type("plan-required") else "failed"
        return {"step": step.name, "outcome": outcome, "status": failed.code,
                "detail": failed.description}
    return {"step": step.name, "outcome": "done", "status": result.status}


def handle(user_id: str) -> Response:
    """Every step of a lock-out, in order."""
    principal = None
    call: Call | None = None
    try:
        principal = auth.current_principal()  # authenticate: 401
        if request.content_length:
            raise Problem(400, "This operation takes no request body.",
                          title="Invalid request", slug="invalid-request")
        auth.authorize(LOCK_OUT)  # users:lock_out: 403
        if not USER_ID_RE.match(user_id):
            raise Problem(400, "The path parameter id is not a valid user id.",
                          title="Invalid request", slug="invalid-request",
                          extra={"errors": {"id": ["Not a valid user id."]}})
        stepup.check(LOCK_OUT, (), principal)  # a fresh MFA login when the policy says so
        call = Call(LOCK_OUT, principal, ValidatedRequest({"id": user_id}, {}, None), ())
        scope.check(call)  # the user must be inside the caller's delegated scope (404)
        escalation.check(call)  # never yourself; protected users need their permission
        steps = [_run(step, user_id) for step in LOCK_OUT_STEPS]
    except HTTPException as refused:
        audit.record_call(LOCK_OUT, principal, None, call, refused.code or 500, refused)
        raise
    blocked = steps[0]["outcome"] == "done"
    complete = all(step["outcome"] == "done" for step in steps)
    missing = steps[0].get("status") == 404  # Auth0: no such user (nothing was changed)
    status = 200 if blocked else 404 if missing else 502
    call.status = status
    audit.record_call(LOCK_OUT, principal, None, call, status, action_steps=steps)
    if missing:
        raise scope.user_not_found()
    if not blocked:
        raise Problem(502, "The user could not be blocked; see each step's outcome.",
                      slug="lock-out-incomplete", extra={"user_id": user_id, "steps": steps})
    body = {"user_id": user_id, "complete": complete, "steps": steps}
    return Response(json.dumps(body), status=200, mimetype="application/json")


def _view(**path_params: str) -> Response:
    return handle(path_params["id"])


# The catalog's own rule, so that rate limits and refusals find the action by its route.
bp.add_url_rule(LOCK_OUT.flask_rule, endpoint="lock_out", view_func=_view,
                methods=[LOCK_OUT.method])
