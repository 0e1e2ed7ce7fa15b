"""Fixtures for the guardrail tests: full stacks with the shipped policy, private Redis
servers that a test may stop, and readers of the audit stream."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from tests.facade.conftest import Stack
from tests.support.redis_helpers import skip_or_fail
from tests.support.servers import LiveServer


class PrivateRedis:
    """A redis-server of our own on a free port, so a test can stop it mid-test."""

    def __init__(self) -> None:
        from tests.runtime.procs import free_port

        program = shutil.which("redis-server")
        if program is None:
            skip_or_fail("redis-server is not installed (apt-get install redis-server)")
        assert program is not None
        self.program = program
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="agw-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        self.proc = subprocess.Popen(
            [self.program, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                if client.ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        raise AssertionError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis().start()
    yield server
    server.cleanup()


@pytest.fixture
def make_guard_stack(fresh_emulator: Any, make_gateway: Callable[..., LiveServer]
                     ) -> Callable[..., Stack]:
    """A fresh emulator and a gateway with the shipped policy (guardrails on)."""
    def make(**overrides: str) -> Stack:
        gateway = make_gateway(fresh_emulator, **overrides)
        return Stack(fresh_emulator, gateway, requests.Session())
    return make


@pytest.fixture
def gstack(make_guard_stack: Callable[..., Stack]) -> Stack:
    return make_guard_stack()


def token_for(stack: Stack, alias: str, **claims: Any) -> str:
    return str(stack.tenant.issue_user_token(alias, extra_claims=claims or None))


def call_with(stack: Stack, token: str, method: str, path: str, **kwargs: Any
              ) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return stack.session.request(method, stack.gateway.url + path, headers=headers, timeout=30,
                                 **kwargs)


def audit_events(redis_url: str, prefix: str) -> list[dict[str, Any]]:
    """Every event in the audit stream of this gateway, oldest first."""
    client = redis.Redis.from_url(redis_url)
    try:
        entries = client.xrange(prefix + "audit")
    finally:
        client.close()
    return [json.loads(fields[b"event"]) for _, fields in entries]


@pytest.fixture
def events(redis_url: str, redis_prefix: str) -> Callable[[], list[dict[str, Any]]]:
    return lambda: audit_events(redis_url, redis_prefix)


def role_id(stack: Stack, name: str) -> str:
    return str(next(r.id for r in stack.tenant.roles.values() if r.name == name))


def write_policy(directory: Path, replacements: dict[str, str]) -> Path:
    """The shipped policy with some of its text replaced (each must occur once)."""
    from config.settings import DEFAULT_POLICY_FILE

    text = DEFAULT_POLICY_FILE.read_text()
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = directory / "policy.toml"
    path.write_text(text)
    return path
