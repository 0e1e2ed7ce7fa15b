"""Handler of ``GET /roles/{id}/users``: who holds a role.

Offset paging (``page``/``per_page``/``include_totals``) or, with ``from`` or
``take``, checkpoint paging (``{"users": [...], "next": ...}``), as Auth0's
recordings show. Users appear in user_id order.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from emulator.context import tenant
from emulator.management import checkpoint
from emulator.management.guard import query
from emulator.management.lookup import require_role
from emulator.management.present import paged

USER_FIELDS = ("user_id", "email", "picture", "name")


def get_role_users(id: str) -> ResponseReturnValue:
    t = tenant()
    q = query()
    with t.lock:
        require_role(t, id)
        holders = sorted(uid for uid, roles in t.user_roles.items()
                         if id in roles and uid in t.users)
        users = [{k: t.users[uid][k] for k in USER_FIELDS if k in t.users[uid]}
                 for uid in holders]
    if checkpoint.wants_checkpoint(q):
        window, after = checkpoint.page(users, q, lambda u: str(u["user_id"]),
                                        opaque_cursor=True)
        body: dict[str, Any] = {"users": window}
        if after is not None:
            body["next"] = after
        return jsonify(body)
    return jsonify(paged(users, q, "users", with_length=False))
