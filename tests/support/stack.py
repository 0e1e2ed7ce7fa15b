"""A full stack for a test: an emulator and a gateway in front of it, and calls through it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from tests.support.servers import LiveServer


@dataclass
class Stack:
    emulator: Any
    gateway: LiveServer
    session: requests.Session

    @property
    def tenant(self) -> Any:
        return self.emulator.tenant

    def token(self, alias: str) -> str:
        return str(self.tenant.issue_user_token(alias))

    def call(self, alias: str | None, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if alias:
            headers["Authorization"] = f"Bearer {self.token(alias)}"
        return self.session.request(method, self.gateway.url + path, headers=headers,
                                    timeout=30, **kwargs)

    def user(self, alias: str) -> str:
        return str(self.tenant.user_id(alias))

    def upstream(self) -> list[Any]:
        """The Management API requests the emulator received, in order."""
        return list(self.tenant.request_log)


def token_for(stack: Stack, alias: str, **claims: Any) -> str:
    return str(stack.tenant.issue_user_token(alias, extra_claims=claims or None))


def call_with(stack: Stack, token: str, method: str, path: str, **kwargs: Any
              ) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return stack.session.request(method, stack.gateway.url + path, headers=headers, timeout=30,
                                 **kwargs)


def role_id(stack: Stack, name: str) -> str:
    return str(next(r.id for r in stack.tenant.roles.values() if r.name == name))
