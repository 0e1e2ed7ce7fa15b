"""Fixtures for the admin panel's browser tests: Node, Chromium and a built panel.

Missing tools skip the tests locally and fail them under CI=true
(tests.support.redis_helpers.skip_or_fail), so CI never passes by skipping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from devtools.panel_server import PANEL_DIR, PanelConfig, PanelServer, is_stale
from tests.support.redis_helpers import skip_or_fail
from tests.support.servers import LiveServer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        skip_or_fail("Node.js is not installed (apt-get install nodejs npm)")
    assert found is not None
    if not (PANEL_DIR / "node_modules" / "playwright-core").is_dir():
        skip_or_fail("panel dependencies are not installed (cd panel && npm ci)")
    return found


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def panel_dist() -> Path:
    if is_stale(PANEL_DIR):
        skip_or_fail("panel/dist is missing or older than its sources "
                     "(cd panel && npm ci && npm run build)")
    return PANEL_DIR / "dist"


@pytest.fixture
def make_panel_stack(fresh_emulator: Any, make_gateway: Callable[..., LiveServer],
                     panel_dist: Path) -> Iterator[Callable[..., dict[str, Any]]]:
    """Emulator + Redis-backed gateway (with settings `overrides`) + panel, wired as
    `admin-gateway demo` wires them; one stack per call, all stopped after the test."""
    with ExitStack() as stack:
        def make(**overrides: str) -> dict[str, Any]:
            panel = stack.enter_context(PanelServer(panel_dist))
            tenant = fresh_emulator.tenant
            tenant.allow_panel_origin(panel.url)
            gateway = make_gateway(fresh_emulator, CORS_ORIGINS=panel.url, **overrides)
            panel.start(PanelConfig(domain=fresh_emulator.url, clientId=tenant.panel_client_id,
                                    audience=tenant.gateway_audience, gatewayUrl=gateway.url,
                                    title="Admin panel (test)"))
            return {"panel": panel, "gateway": gateway, "emulator": fresh_emulator}

        yield make


@pytest.fixture
def panel_stack(make_panel_stack: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Emulator + Redis-backed gateway + panel, wired as `admin-gateway demo` wires them."""
    return make_panel_stack()
