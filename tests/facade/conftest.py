"""A full stack per test: a fresh emulator (tests mutate it) and a gateway in front of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from config.settings import DEFAULT_POLICY_FILE
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


GUARDRAILS_MARKER = "# --- Guardrails"


@pytest.fixture(scope="session")
def facade_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped policy's roles without the guardrail rules (delegated scope, limits,
    protected users): these tests count the exact upstream calls of the facade alone;
    tests/guards covers the guardrails, which add lookups of their own. Delegated scope
    fails closed, so switching it off takes an explicit `default = "allow"`."""
    text = DEFAULT_POLICY_FILE.read_text()
    roles_only = text.split(GUARDRAILS_MARKER, 1)[0]
    path = tmp_path_factory.mktemp("policy") / "policy.toml"
    path.write_text(roles_only + "\n[protection]\nprotected_roles = []\n"
                    "\n[scope]\ndefault = \"allow\"\n")
    return path


@pytest.fixture
def make_stack(fresh_emulator: Any, make_gateway: Callable[..., LiveServer],
               facade_policy: Path) -> Callable[..., Stack]:
    def make(**overrides: str) -> Stack:
        overrides.setdefault("POLICY_FILE", str(facade_policy))
        gateway = make_gateway(fresh_emulator, **overrides)
        return Stack(fresh_emulator, gateway, requests.Session())
    return make


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack()
