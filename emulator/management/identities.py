"""Handler of ``DELETE /users/{id}/identities/{provider}/{user_id}``: unlinking.

As Auth0 documents it: the secondary identity leaves the primary user's
``identities`` and becomes a user of its own, ``{provider}|{user_id}``, with the
profile its identity carried (``profileData``) and no metadata. The answer is
the primary user's remaining identities.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from emulator.context import tenant
from emulator.errors import ManagementError
from emulator.management.guard import caller
from emulator.management.lookup import require_user
from emulator.management.present import user_document
from emulator.management.user_updates import now_iso
from emulator.tenant import Tenant

# Texts and codes UNCONFIRMED: Auth0 documents neither refusal.
UNLINK_PRIMARY = "Main identity cannot be unlinked from its own user."
IDENTITY_NOT_FOUND = "The identity does not exist."
PROFILE_FIELDS = ("email", "email_verified", "name", "given_name", "family_name", "picture",
                  "nickname", "username", "phone_number", "phone_verified")


def _standalone(t: Tenant, identity: dict[str, Any]) -> None:
    user_id = f"{identity['provider']}|{identity['user_id']}"
    if user_id in t.users:
        return
    profile = identity.pop("profileData", {})
    user: dict[str, Any] = {k: profile[k] for k in PROFILE_FIELDS if k in profile}
    if "email" in user and "nickname" not in user:
        user["nickname"] = str(user["email"]).split("@", 1)[0]
    now = now_iso()
    user.update(user_id=user_id, identities=[identity], created_at=now, updated_at=now)
    t.users[user_id] = user
    t.logs.setdefault(user_id, [])


def delete_user_identity(id: str, provider: str, user_id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        primary = require_user(t, id)
        identities: list[dict[str, Any]] = primary["identities"]
        index = next((n for n, identity in enumerate(identities)
                      if identity["provider"] == provider
                      and str(identity["user_id"]) == user_id), None)
        if index == 0:
            raise ManagementError(400, UNLINK_PRIMARY, "invalid_uri")
        if index is None:
            raise ManagementError(404, IDENTITY_NOT_FOUND, "inexistent_identity")
        _standalone(t, identities.pop(index))
        primary["updated_at"] = now_iso()
        remaining = user_document({"identities": identities}, caller().scopes)["identities"]
    return jsonify(remaining)
