"""Handlers of a user's MFA detail: Guardian enrollments, authentication methods,
remembered browsers and the recovery code.

Authentication methods are the stored truth (``Tenant.accounts.auth_methods``);
the Guardian enrollment is derived from the first confirmed second factor, as
Auth0's spec describes ``GET /users/{id}/enrollments`` ("the first ...
enrollment that a specific user has confirmed"). Once a user's last second
factor is gone, so are the recovery code and the profile's ``multifactor``.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from emulator.context import tenant
from emulator.errors import ManagementError
from emulator.management.guard import query
from emulator.management.lookup import require_user
from emulator.management.present import json_copy, paged
from emulator.management.user_updates import now_iso
from emulator.seed_accounts import recovery_code_method
from emulator.tenant import Tenant

# Method type -> (enrollment type, auth_method) of the Guardian enrollment it makes. The
# auth_method values are the spec's enum; the types are UNCONFIRMED.
ENROLLMENT_KINDS = {
    "totp": ("totp", "authenticator"),
    "push": ("pn", "guardian"),
    "phone": ("sms", "sms"),
    "webauthn-roaming": ("webauthn-roaming", "webauthn-roaming"),
    "webauthn-platform": ("webauthn-platform", "webauthn-platform"),
}
# Texts UNCONFIRMED for the method; "Enrollment not found"/enrollment_not_found is what
# Auth0 answers for an unknown Guardian enrollment (go-auth0's test recordings).
METHOD_NOT_FOUND = "The authentication method does not exist."
ENROLLMENT_NOT_FOUND = "Enrollment not found"
# Auth0's recovery codes: 24 upper-case letters and digits.
RECOVERY_CODE_LENGTH = 24
_RECOVERY_ALPHABET = string.ascii_uppercase + string.digits


def _methods(t: Tenant, user_id: str) -> list[dict[str, Any]]:
    return t.accounts.auth_methods.get(user_id, [])


def _enrollment(method: dict[str, Any]) -> dict[str, Any]:
    kind, auth_method = ENROLLMENT_KINDS[method["type"]]
    device = method["id"].split("|", 1)[1]
    doc: dict[str, Any] = {"id": device, "status": "confirmed", "type": kind,
                           "name": method.get("name"),
                           # A push device's identifier, stable per enrollment.
                           "identifier": (hashlib.sha256(device.encode()).hexdigest()[:16]
                                          if kind == "pn" else None),
                           "phone_number": method.get("phone_number"),
                           "auth_method": auth_method,
                           "enrolled_at": method.get("enrolled_at", method["created_at"]),
                           "last_auth": method.get("last_auth_at")}
    return {k: v for k, v in doc.items() if v is not None}


def get_enrollments(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        require_user(t, id)
        first = next((m for m in _methods(t, id)
                      if m["type"] in ENROLLMENT_KINDS and m.get("confirmed")), None)
        return jsonify([_enrollment(first)] if first else [])


def get_authentication_methods(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        require_user(t, id)
        methods = json_copy(_methods(t, id))
    return jsonify(paged(methods, query(), "authenticators", with_length=False))


def _method(t: Tenant, user_id: str, method_id: str) -> dict[str, Any]:
    found = next((m for m in _methods(t, user_id) if m["id"] == method_id), None)
    if found is None:
        raise ManagementError(404, METHOD_NOT_FOUND, "inexistent_authentication_method")
    return found


def get_authentication_method(id: str, authentication_method_id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        require_user(t, id)
        return jsonify(json_copy(_method(t, id, authentication_method_id)))


def delete_authentication_method(id: str, authentication_method_id: str
                                 ) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        user = require_user(t, id)
        _methods(t, id).remove(_method(t, id, authentication_method_id))
        if not t.accounts.has_mfa(id):
            t.accounts.clear_mfa(user)
    return "", 204


def delete_all_mfa(id: str) -> ResponseReturnValue:
    """``DELETE /users/{id}/authenticators`` and ``DELETE .../authentication-methods``:
    every Guardian enrollment and authentication method goes, recovery code too."""
    t = tenant()
    with t.lock:
        # Neither spec entry lists a 404: a missing user is a no-op.
        user = t.users.get(id)
        if user is not None:
            t.accounts.clear_mfa(user)
    return "", 204


def post_invalidate_remember_browser(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        # The spec lists no 404; the emulator answers inexistent_user (UNCONFIRMED).
        require_user(t, id)
        # Nothing in the API shows remembered browsers; tests read the time it happened.
        t.accounts.browsers_forgotten_at[id] = now_iso()
    return "", 204


def post_recovery_code_regeneration(id: str) -> ResponseReturnValue:
    """A new recovery code replaces the old one; 404 for a user without a second factor.

    go-auth0's recording shows Auth0 answering 200 for a user just created (no factor);
    the 404 the spec documents is what this emulator gives a user without MFA."""
    t = tenant()
    with t.lock:
        require_user(t, id)
        if not t.accounts.has_mfa(id):
            raise ManagementError(404, ENROLLMENT_NOT_FOUND, "enrollment_not_found")
        code = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        kept = [m for m in _methods(t, id) if m["type"] != "recovery-code"]
        kept.append(recovery_code_method("dev_" + secrets.token_hex(8), now_iso()))
        t.accounts.auth_methods[id] = kept
    return jsonify({"recovery_code": code})
