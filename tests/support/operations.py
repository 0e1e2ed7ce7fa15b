"""The operations case table: one valid request per catalog operation, built against a
Stack, with the status Auth0 answers it with (None: any 2xx).

    CASES = [(operation_id, build, status), ...]    # build(stack) -> (method, path, kwargs)

tests/facade/test_operations.py runs every row end to end; tests/auth/test_facade_authz.py
sends the same requests with too few permissions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.stack import Stack, role_id


def _cases() -> list[tuple[str, Callable[[Stack], tuple[str, str, dict[str, Any]]], int]]:
    return [
        ("get_users", lambda s: ("GET", "/api/v2/users", {"params": {
            "q": "app_metadata.department:support", "per_page": "5", "page": "1",
            "include_totals": "true", "sort": "created_at:1", "search_engine": "v3"}}), 200),
        ("get_users-by-email", lambda s: ("GET", "/api/v2/users-by-email", {
            "params": {"email": s.tenant.users[s.user("alice")]["email"]}}), 200),
        ("get_users_by_id", lambda s: ("GET", f"/api/v2/users/{s.user('alice')}", {
            "params": {"fields": "user_id,email,name", "include_fields": "true"}}), 200),
        ("post_users", lambda s: ("POST", "/api/v2/users", {"json": {
            "connection": "Username-Password-Authentication", "email": "new.person@example.com",
            "password": "Corr3ct-Horse-Battery", "name": "New Person",
            "user_metadata": {"lang": "en"}}}), 201),
        ("patch_users_by_id", lambda s: ("PATCH", f"/api/v2/users/{s.user('dave')}", {
            "json": {"name": "Dave Renamed", "user_metadata": {"theme": "dark"}}}), 200),
        ("delete_users_by_id", lambda s: ("DELETE", f"/api/v2/users/{s.user('dave')}", {}), 204),
        ("get_user_roles", lambda s: ("GET", f"/api/v2/users/{s.user('bob')}/roles", {
            "params": {"include_totals": "true"}}), 200),
        ("post_user_roles", lambda s: ("POST", f"/api/v2/users/{s.user('dave')}/roles", {
            "json": {"roles": [role_id(s, "Support Reader")]}}), None),
        ("delete_user_roles", lambda s: ("DELETE", f"/api/v2/users/{s.user('alice')}/roles", {
            "json": {"roles": [role_id(s, "Support Reader")]}}), None),
        ("get_permissions", lambda s: ("GET", f"/api/v2/users/{s.user('bob')}/permissions",
                                       {}), 200),
        ("get_logs_by_user", lambda s: ("GET", f"/api/v2/users/{s.user('alice')}/logs", {
            "params": {"sort": "date:-1", "per_page": "10"}}), 200),
        ("get_user-blocks_by_id", lambda s: ("GET", f"/api/v2/user-blocks/{s.user('alice')}",
                                             {}), 200),
        ("delete_user-blocks_by_id", lambda s: ("DELETE",
                                                f"/api/v2/user-blocks/{s.user('alice')}", {}),
         204),
        ("post_password-change", lambda s: ("POST", "/api/v2/tickets/password-change", {
            "json": {"user_id": s.user("dave"), "ttl_sec": 3600}}), 201),
        ("post_verification-email", lambda s: ("POST", "/api/v2/jobs/verification-email", {
            "json": {"user_id": s.user("dave")}}), 201),
        ("delete_authenticators", lambda s: ("DELETE",
                                             f"/api/v2/users/{s.user('dave')}/authenticators",
                                             {}), 204),
        ("get_roles", lambda s: ("GET", "/api/v2/roles", {"params": {"per_page": "10"}}), 200),
    ]


CASES = _cases()
