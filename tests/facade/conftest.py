"""A full stack per test: a fresh emulator (tests mutate it) and a gateway in front of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from config.settings import DEFAULT_POLICY_FILE
from tests.support.servers import LiveServer
from tests.support.stack import Stack

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
