"""Egress as enterprises run it: every call to Auth0 through one forward proxy, one private CA.

The emulator is served over TLS with a certificate from a CA this test creates
(never in the host's trust store); a real forward proxy (Debian's tinyproxy)
runs on loopback. The gateway verifies a user's token (JWKS), mints a
Management token and calls the Management API — all through the proxy, all
verified with `AUTH0_CA_BUNDLE`. With the proxy down every one of those calls
fails, and without the CA bundle the TLS handshake fails: neither the host's
environment nor its trust store is a way around the settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from app.auth.extension import jwks_session
from app.auth.jwks import JwksCache, JwksUnavailable
from app.catalog import LIST_ROLES
from app.egress import Egress, EgressAdapter, bypasses, redact_proxy
from app.errors import Problem
from app.management.client import ManagementClient
from app.management.minting import Minter, pooled_session
from config.settings import ConfigError, Settings, TierConfig, load_settings
from tests.support.egress import PrivateCA, TinyProxy
from tests.support.secret_watch import SecretWatch, capture_gateway_logs


def minimal_env(**changes: str) -> dict[str, str]:
    """A valid configuration that needs no emulator."""
    from cryptography.fernet import Fernet

    env = {"AUTH0_DOMAIN": "example.eu.auth0.com",
           "AUTH0_AUDIENCE": "https://admin-gateway.example.com/api",
           "MGMT_TIERS": "read", "MGMT_TIER_READ_CLIENT_ID": "readclient",
           "MGMT_TIER_READ_CLIENT_SECRET": "never-printed-secret",
           "MGMT_TIER_READ_SCOPES": "read:users", "TOKEN_CACHE_KEY": Fernet.generate_key().decode()}
    env.update(changes)
    return env


@pytest.fixture
def private_ca(tmp_path: Path) -> PrivateCA:
    return PrivateCA(tmp_path / "ca")


@pytest.fixture
def tls_emulator(private_ca: PrivateCA, secret_watch: SecretWatch) -> Iterator[Any]:
    from emulator.server import EmulatorServer
    from emulator.tenant import Tenant

    tenant = Tenant.demo()
    secret_watch.watch_tenant(tenant)
    with EmulatorServer(tenant, ssl_context=private_ca.server_context()) as server:
        yield server


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[TinyProxy]:
    with TinyProxy(tmp_path / "proxy") as running:
        yield running


class _Static:
    """A token source for the Management client that hands out one token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, tier: TierConfig) -> str:
        return self.token

    def invalidate(self, tier: TierConfig, token: str) -> None:
        return None


def _egress_settings(make_settings: Callable[..., Settings], emulator: Any, proxy: TinyProxy,
                     ca: PrivateCA | None) -> Settings:
    return make_settings(emulator, AUTH0_SCHEME="https", HTTPS_PROXY=proxy.url,
                         AUTH0_CA_BUNDLE=str(ca.ca_file) if ca else "")


def test_gateway_reaches_auth0_only_through_the_proxy_with_the_private_ca(
        tls_emulator: Any, proxy: TinyProxy, private_ca: PrivateCA,
        make_settings: Callable[..., Settings], make_gateway: Callable[..., Any]) -> None:
    tenant = tls_emulator.tenant
    assert tls_emulator.url.startswith("https://")
    settings = _egress_settings(make_settings, tls_emulator, proxy, private_ca)
    gateway = make_gateway(settings=settings)

    token = tenant.issue_user_token("bob")
    answer = requests.get(gateway.url + "/api/v2/roles",
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)

    assert answer.status_code == 200, answer.text
    assert {role["name"] for role in answer.json()} >= {"Support Reader", "Support Editor"}
    assert tenant.jwks_fetches >= 1  # the user's token was verified with fetched keys
    assert tenant.tokens_issued[settings.tier("read").client_id] == 1  # one mint
    assert tenant.calls["GET /api/v2/roles"] == 1  # the Management API call
    tunnels = proxy.connects()
    # JWKS and minting have a requests session each, the Management API its urllib3 pool:
    # three tunnels at least (keep-alive reuses them), every one of them to the tenant.
    assert len(tunnels) >= 3, proxy.log_text()
    assert set(tunnels) == {tls_emulator.domain}


def test_with_the_proxy_down_no_call_reaches_auth0(
        tls_emulator: Any, proxy: TinyProxy, private_ca: PrivateCA,
        make_settings: Callable[..., Settings]) -> None:
    settings = _egress_settings(make_settings, tls_emulator, proxy, private_ca)
    tier = settings.tier("read")
    # Up: each kind of call works through the proxy.
    minter = Minter(settings, pooled_session(settings))
    token = minter.mint(tier).access_token
    assert ManagementClient(settings, _Static(token)).call(LIST_ROLES, tier, "/roles", [],
                                                          None).status == 200
    keys = JwksCache(settings.jwks_url, session=jwks_session(settings), ttl=600, cooldown=30,
                     timeout=(2, 5))
    assert keys.key(tls_emulator.tenant.keys.current.kid) is not None
    proxy.stop()
    tls_emulator.tenant.reset_counters()

    with pytest.raises(Problem) as minted:
        Minter(settings, pooled_session(settings)).mint(tier)
    assert minted.value.code == 502
    with pytest.raises(JwksUnavailable):
        JwksCache(settings.jwks_url, session=jwks_session(settings), ttl=600, cooldown=30,
                  timeout=(2, 5)).key("any")
    # A token in hand (minted while the proxy was up): the Management call itself fails.
    with pytest.raises(Problem) as called:
        ManagementClient(settings, _Static(token)).call(LIST_ROLES, tier, "/roles", [], None)
    assert called.value.code == 502
    # Nothing went around the proxy (a direct connection would have worked on loopback).
    assert tls_emulator.tenant.jwks_fetches == 0
    assert sum(tls_emulator.tenant.tokens_issued.values()) == 0
    assert not tls_emulator.tenant.calls


def test_without_the_ca_bundle_tls_fails_the_host_trust_store_is_not_used(
        tls_emulator: Any, proxy: TinyProxy, make_settings: Callable[..., Settings],
        monkeypatch: pytest.MonkeyPatch, private_ca: PrivateCA) -> None:
    # Even a CA bundle named by the host's environment is ignored: only AUTH0_CA_BUNDLE counts.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(private_ca.ca_file))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(private_ca.ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(private_ca.ca_file))  # OpenSSL's default store
    settings = _egress_settings(make_settings, tls_emulator, proxy, None)
    with pytest.raises(Problem) as minted:
        Minter(settings, pooled_session(settings)).mint(settings.tier("read"))
    assert minted.value.code == 502
    assert sum(tls_emulator.tenant.tokens_issued.values()) == 0
    with pytest.raises(Problem) as called:
        ManagementClient(settings, _Static("any-token")).call(LIST_ROLES, settings.tier("read"),
                                                             "/roles", [], None)
    assert called.value.code == 502
    assert not tls_emulator.tenant.calls


def test_management_calls_follow_no_proxy_and_ignore_the_hosts_proxy_variables(
        tls_emulator: Any, proxy: TinyProxy, private_ca: PrivateCA,
        make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    # Dead proxies in every variable but the gateway's own: a direct call works only if none
    # of them is read.
    for name in ("https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    settings = make_settings(tls_emulator, AUTH0_SCHEME="https", HTTPS_PROXY=proxy.url,
                             NO_PROXY="localhost,127.0.0.1",
                             AUTH0_CA_BUNDLE=str(private_ca.ca_file))
    token = Minter(settings, pooled_session(settings)).mint(settings.tier("read")).access_token
    client = ManagementClient(settings, _Static(token))
    assert client.call(LIST_ROLES, settings.tier("read"), "/roles", [], None).status == 200
    assert tls_emulator.tenant.calls["GET /api/v2/roles"] == 1
    assert proxy.connects() == []  # NO_PROXY names the tenant's host: no tunnel


def test_proxy_credentials_open_the_tunnel_and_are_never_logged(
        tls_emulator: Any, private_ca: PrivateCA, make_settings: Callable[..., Settings],
        tmp_path: Path) -> None:
    password = "pr0xy-pa55word-never-logged"
    with TinyProxy(tmp_path / "auth-proxy", credentials=("gateway", password)) as proxy:
        settings = _egress_settings(make_settings, tls_emulator, proxy, private_ca)
        tier = settings.tier("read")
        with capture_gateway_logs() as logs:
            token = Minter(settings, pooled_session(settings)).mint(tier).access_token
            client = ManagementClient(settings, _Static(token))
            assert client.call(LIST_ROLES, tier, "/roles", [], None).status == 200
            assert len(proxy.connects()) == 2  # the mint's tunnel and the Management API's
            # The wrong password: the proxy refuses the tunnel, the call is a 502.
            wrong = _egress_settings(make_settings, tls_emulator, proxy, private_ca)
            wrong = replace(wrong, https_proxy=proxy.url.replace(password, "not-the-password"))
            with pytest.raises(Problem) as refused:
                ManagementClient(wrong, _Static(token)).call(LIST_ROLES, tier, "/roles", [],
                                                             None)
            assert refused.value.code == 502
        assert tls_emulator.tenant.calls["GET /api/v2/roles"] == 1
        assert "Auth0 connection-error on get_roles" in logs.getvalue()
        assert password not in logs.getvalue()


def test_host_proxy_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lowercase and other proxy variables never route credentials: only HTTPS_PROXY does."""
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    settings = load_settings(minimal_env())
    session = pooled_session(settings)
    assert session.trust_env is False
    adapter = session.get_adapter("https://example.eu.auth0.com/oauth/token")
    assert isinstance(adapter, EgressAdapter)
    assert adapter.egress.proxies_for("https://example.eu.auth0.com/oauth/token") == {}


def test_no_proxy_matches_hosts_suffixes_ports_and_networks() -> None:
    entries = (".internal", "auth0.example", "10.0.0.0/8", "db:5432")
    assert bypasses(entries, "a.b.internal", 443)
    assert bypasses(entries, "internal", 443)
    assert bypasses(entries, "auth0.example", 443)
    assert bypasses(entries, "x.auth0.example", 443)
    assert not bypasses(entries, "notauth0.example", 443)
    assert bypasses(entries, "10.2.3.4", 443)
    assert not bypasses(entries, "11.2.3.4", 443)
    assert bypasses(entries, "db", 5432)
    assert not bypasses(entries, "db", 443)
    assert bypasses(("*",), "anything", None)
    egress = Egress(proxy="http://u:p@proxy:3128", no_proxy=(".internal",))
    assert egress.proxies_for("https://tenant.eu.auth0.com/api/v2/users") == {
        "https": "http://u:p@proxy:3128"}
    assert egress.proxies_for("https://auth.internal/x") == {}
    assert redact_proxy("http://user:secret@proxy:3128") == "http://***@proxy:3128"
    assert all("secret" not in line for line in egress.describe())


@pytest.mark.parametrize(("name", "value", "message"), [
    ("HTTPS_PROXY", "proxy:3128", "HTTPS_PROXY must be a proxy URL"),
    ("HTTPS_PROXY", "http://proxy:3128/path", "HTTPS_PROXY must be a proxy URL"),
    ("AUTH0_CA_BUNDLE", "/nonexistent/ca.pem", "AUTH0_CA_BUNDLE must name a readable PEM file"),
    ("PANEL_ORIGINS", "https://admin.example.com/app", "PANEL_ORIGINS entry"),
])
def test_bad_egress_settings_stop_start_up(name: str, value: str, message: str,
                                           tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(minimal_env(**{name: value}))
    assert any(message in line for line in caught.value.problems), caught.value.problems
    # A proxy URL may hold a password: it is never echoed.
    assert all(value not in line for line in caught.value.problems if name == "HTTPS_PROXY")


def test_a_ca_bundle_without_a_certificate_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(minimal_env(AUTH0_CA_BUNDLE=str(bogus)))
    assert any("must hold at least one PEM certificate" in p for p in caught.value.problems)
