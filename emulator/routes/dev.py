"""Dev-only controls under ``/emulator/``: tokens for demo users, faults, the tenant's plan,
stats, keys.

The emulator is never production, and these endpoints are why: anyone who can
reach them can mint tokens. Bind the server to loopback.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from emulator.context import tenant

bp = Blueprint("dev", __name__, url_prefix="/emulator")


def _json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _bad(message: str, status: int = 400) -> ResponseReturnValue:
    return jsonify({"error": message}), status


@bp.post("/token")
def user_token() -> ResponseReturnValue:
    body = _json()
    user = body.get("user")
    if not isinstance(user, str):
        return _bad("body must be JSON with a 'user' (alias or user_id)")
    try:
        expires_in = int(body.get("expires_in", 3600))
        token = tenant().issue_user_token(
            user,
            profile=str(body.get("profile", "auth0")),
            expires_in=expires_in,
            audience=body.get("audience"),
            org_id=body.get("org_id"),
            extra_claims=body.get("extra_claims"),
            include_roles=bool(body.get("include_roles", True)),
        )
    except KeyError as exc:
        return _bad(str(exc.args[0]), 404)
    except ValueError as exc:
        return _bad(str(exc))
    return jsonify({"access_token": token, "token_type": "Bearer", "expires_in": expires_in})


@bp.post("/faults")
def faults() -> ResponseReturnValue:
    try:
        tenant().faults.apply(_json())
    except (KeyError, TypeError, ValueError) as exc:
        return _bad(f"bad fault spec: {exc!r}")
    return jsonify({"ok": True})


@bp.get("/tenant/plan")
def plan() -> ResponseReturnValue:
    return jsonify({"plan": tenant().plan})


@bp.post("/tenant/plan")
def set_plan() -> ResponseReturnValue:
    """Switch the plan: anything but "enterprise" refuses session and refresh token
    management, as Auth0 does (a snapshot restore puts the plan back too)."""
    wanted = _json().get("plan")
    if not isinstance(wanted, str):
        return _bad("body must be JSON with the 'plan'")
    try:
        tenant().set_plan(wanted)
    except ValueError as exc:
        return _bad(str(exc))
    return jsonify({"plan": tenant().plan})


@bp.get("/stats")
def stats() -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        return jsonify({
            "tokens_issued": dict(t.tokens_issued),
            "calls": dict(t.calls),
            "jwks_fetches": t.jwks_fetches,
            "requests": len(t.request_log),
        })


@bp.get("/requests")
def requests_log() -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        return jsonify([dataclasses.asdict(r) for r in t.request_log])


@bp.post("/reset-counters")
def reset_counters() -> ResponseReturnValue:
    tenant().reset_counters()
    return jsonify({"ok": True})


@bp.get("/clients")
def clients() -> ResponseReturnValue:
    """Client ids and secrets of the M2M apps, so other processes can configure themselves."""
    t = tenant()
    with t.lock:
        return jsonify({
            c.client_id: {"client_secret": c.client_secret, "name": c.name,
                          "scopes": c.grant_scopes or []}
            for c in t.clients.values()
        })


@bp.post("/revoke-management-tokens")
def revoke_management_tokens() -> ResponseReturnValue:
    revoked = tenant().revoke_management_tokens(_json().get("client_id"))
    return jsonify({"revoked": revoked})


@bp.post("/keys/publish-next")
def publish_next() -> ResponseReturnValue:
    t = tenant()
    return jsonify({"kid": t.keys.publish_next(), "published": t.keys.published_kids})


@bp.post("/keys/promote-next")
def promote_next() -> ResponseReturnValue:
    t = tenant()
    return jsonify({"kid": t.keys.promote_next(), "published": t.keys.published_kids})


@bp.post("/keys/revoke")
def revoke_key() -> ResponseReturnValue:
    t = tenant()
    kid = _json().get("kid")
    if not isinstance(kid, str):
        return _bad("body must be JSON with the 'kid' to revoke")
    try:
        t.keys.revoke(kid)
    except KeyError:
        return _bad(f"no published key {kid}", 404)
    except ValueError as exc:
        return _bad(str(exc), 409)
    return jsonify({"revoked": kid, "published": t.keys.published_kids})
