"""app/panel_server.py over HTTP: the bundle, config.json, and the page's security headers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devtools.panel_server import PanelConfig, PanelServer, content_security_policy, is_stale

CONFIG = PanelConfig(domain="http://127.0.0.1:9", clientId="spa", audience="https://api",
                     gatewayUrl="http://127.0.0.1:10/")


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>panel</title>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("nope")
    return tmp_path


@pytest.fixture
def served(dist: Path) -> Iterator[str]:
    with PanelServer(dist) as server:
        server.start(CONFIG)
        yield server.url


def test_serves_index_assets_and_config(served: str) -> None:
    index = requests.get(served + "/", timeout=5)
    assert index.status_code == 200 and "<title>panel</title>" in index.text
    assert index.headers["Cache-Control"] == "no-cache"
    asset = requests.get(served + "/assets/index-abc.js", timeout=5)
    assert asset.status_code == 200 and "immutable" in asset.headers["Cache-Control"]
    config = requests.get(served + "/config.json", timeout=5)
    assert config.json() == {"domain": "http://127.0.0.1:9", "clientId": "spa",
                             "audience": "https://api", "gatewayUrl": "http://127.0.0.1:10/",
                             "title": "Admin panel"}
    assert config.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/secret.txt", "/assets/../../secret.txt", "/index.html/x",
                                  "/assets/missing.js", "/.env"],
                         ids=["outside", "traversal", "below-a-file", "missing", "dotfile"])
def test_serves_nothing_else(served: str, path: str) -> None:
    assert requests.get(served + path, timeout=5).status_code == 404


def test_pages_may_only_reach_the_tenant_and_the_gateway(served: str) -> None:
    headers = requests.get(served + "/", timeout=5).headers
    policy = headers["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1:10 http://127.0.0.1:9;" in policy
    assert "frame-src http://127.0.0.1:9;" in policy
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_bare_auth0_domain_means_https() -> None:
    config = PanelConfig(domain="tenant.eu.auth0.com", clientId="x", audience="y",
                         gatewayUrl="https://admin.example.com/gw")
    policy = content_security_policy(config)
    assert "connect-src 'self' https://admin.example.com https://tenant.eu.auth0.com;" in policy


def test_staleness_follows_the_sources(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    source = tmp_path / "src" / "App.jsx"
    source.write_text("x")
    assert is_stale(tmp_path)  # never built
    (tmp_path / "dist").mkdir()
    built = tmp_path / "dist" / "index.html"
    built.write_text("x")
    import os

    os.utime(source, (1000, 1000))
    os.utime(built, (2000, 2000))
    assert not is_stale(tmp_path)
    os.utime(source, (3000, 3000))
    assert is_stale(tmp_path)
