"""Start-up refuses each kind of bad configuration with a message naming the variable."""

from __future__ import annotations

import pytest

from config.settings import SPECS, ConfigError, Secret, load_settings, settings_markdown
from emulator.seed import READ_SCOPES
from tests.support.environments import KEY, SECRET, valid_env


def test_valid_environment_loads_with_typed_defaults() -> None:
    settings = load_settings(valid_env())
    assert settings.auth0_domain == "example.eu.auth0.com"
    assert settings.issuer == "https://example.eu.auth0.com/"
    assert settings.management_audience == "https://example.eu.auth0.com/api/v2/"
    assert settings.jwt_algorithms == ("RS256",)
    assert settings.jwt_leeway_seconds == 30
    assert [t.name for t in settings.tiers] == ["read", "write"]
    assert settings.tier("read").scopes == frozenset(READ_SCOPES)  # split on blanks
    assert settings.cors_origins == ()


BAD = [
    ("AUTH0_DOMAIN", None, "AUTH0_DOMAIN is required, e.g. example.eu.auth0.com"),
    ("AUTH0_DOMAIN", "https://x/", "AUTH0_DOMAIN must be a host name (no scheme, no path), "
                                   "e.g. example.eu.auth0.com, got 'https://x/'"),
    ("AUTH0_SCHEME", "ftp", "AUTH0_SCHEME must be https or http"),
    ("AUTH0_SCHEME", "http", "AUTH0_SCHEME may be http only for a loopback AUTH0_DOMAIN"),
    ("AUTH0_AUDIENCE", None, "AUTH0_AUDIENCE is required"),
    ("AUTH0_AUDIENCE", "not a uri", "AUTH0_AUDIENCE must be an absolute URI"),
    ("AUTH0_AUDIENCE", "https://example.eu.auth0.com/api/v2/",
     "AUTH0_AUDIENCE must be your own API's identifier, not the Management API"),
    ("AUTH0_MANAGEMENT_AUDIENCE", "nope", "AUTH0_MANAGEMENT_AUDIENCE must be an absolute URI"),
    ("JWT_ALGORITHMS", "HS256", "JWT_ALGORITHMS names unsupported algorithm(s) HS256"),
    ("JWT_ALGORITHMS", "none", "JWT_ALGORITHMS names unsupported algorithm(s) none"),
    ("JWT_LEEWAY_SECONDS", "ten", "JWT_LEEWAY_SECONDS must be a whole number"),
    ("JWT_LEEWAY_SECONDS", "3600", "JWT_LEEWAY_SECONDS must be between 0 and 300"),
    ("JWT_MAX_TOKEN_BYTES", "10", "JWT_MAX_TOKEN_BYTES must be between 512 and 65536"),
    ("JWKS_CACHE_TTL_SECONDS", "0", "JWKS_CACHE_TTL_SECONDS must be between 10 and 86400"),
    ("JWKS_REFETCH_COOLDOWN_SECONDS", "-1", "JWKS_REFETCH_COOLDOWN_SECONDS must be between"),
    ("VERIFIED_TOKEN_CACHE_SECONDS", "9999", "VERIFIED_TOKEN_CACHE_SECONDS must be between"),
    ("TRUST_SCOPE_CLAIM", "maybe", "TRUST_SCOPE_CLAIM must be true or false"),
    ("ALLOW_MACHINE_CALLERS", "2", "ALLOW_MACHINE_CALLERS must be true or false"),
    ("POLICY_FILE", "/nonexistent/policy.toml", "POLICY_FILE must name a readable TOML file"),
    ("MGMT_TIERS", None, "MGMT_TIERS is required"),
    ("MGMT_TIERS", "Read-Tier", "MGMT_TIERS tier name 'read-tier' must be lowercase"),
    ("MGMT_TIERS", "read,read", "MGMT_TIERS lists a tier twice"),
    ("MGMT_TIER_READ_CLIENT_ID", None, "MGMT_TIER_READ_CLIENT_ID is required for tier 'read'"),
    ("MGMT_TIER_WRITE_CLIENT_SECRET", None,
     "MGMT_TIER_WRITE_CLIENT_SECRET is required for tier 'write'"),
    ("MGMT_TIER_READ_SCOPES", "read users", "MGMT_TIER_READ_SCOPES has malformed scope(s)"),
    ("TOKEN_CACHE_KEY", None, "TOKEN_CACHE_KEY is required"),
    ("TOKEN_CACHE_KEY", "too-short", "TOKEN_CACHE_KEY must be a url-safe base64 Fernet key"),
    ("TOKEN_CACHE_KEY", "QUJD", "TOKEN_CACHE_KEY must decode to 32 bytes"),
    ("TOKEN_CACHE_SKEW_SECONDS", "x", "TOKEN_CACHE_SKEW_SECONDS must be a whole number"),
    ("TOKEN_CACHE_SKEW_RATIO", "0.9", "TOKEN_CACHE_SKEW_RATIO must be between 0 and 0.5"),
    ("TOKEN_MINT_LOCK_SECONDS", "0", "TOKEN_MINT_LOCK_SECONDS must be between 1 and 120"),
    ("TOKEN_MINT_WAIT_SECONDS", "fast", "TOKEN_MINT_WAIT_SECONDS must be a number"),
    ("STRICT_TIER_SCOPES", "sure", "STRICT_TIER_SCOPES must be true or false"),
    ("UPSTREAM_CONNECT_TIMEOUT_SECONDS", "0", "UPSTREAM_CONNECT_TIMEOUT_SECONDS must be between"),
    ("UPSTREAM_READ_TIMEOUT_SECONDS", "500", "UPSTREAM_READ_TIMEOUT_SECONDS must be between"),
    ("UPSTREAM_POOL_SIZE", "0", "UPSTREAM_POOL_SIZE must be between 1 and 512"),
    ("UPSTREAM_429_WAIT_SECONDS", "99", "UPSTREAM_429_WAIT_SECONDS must be between 0 and 30"),
    ("MGMT_PLAN", "platinum", "MGMT_PLAN must be one of free, essentials"),
    ("MGMT_BUDGET_RATE", "-3", "MGMT_BUDGET_RATE must be between 0 and 10000"),
    ("MGMT_BUDGET_BURST", "lots", "MGMT_BUDGET_BURST must be a whole number"),
    ("MGMT_BUDGET_WAIT_SECONDS", "60", "MGMT_BUDGET_WAIT_SECONDS must be between 0 and 30"),
    ("MGMT_READ_CACHE_SECONDS", "61", "MGMT_READ_CACHE_SECONDS must be between 0 and 60"),
    ("MGMT_BUDGET_FALLBACK_PROCESSES", "0",
     "MGMT_BUDGET_FALLBACK_PROCESSES must be between 1 and 1024"),
    ("REDIS_URL", "localhost:6379", "REDIS_URL must start with redis://"),
    ("RATE_LIMITS_ENABLED", "perhaps", "RATE_LIMITS_ENABLED must be true or false"),
    ("RATE_LIMIT_READS", "lots", "RATE_LIMIT_READS must be a rate such as 120/minute"),
    ("RATE_LIMIT_WRITES", "5 per fortnight", "RATE_LIMIT_WRITES must be a rate"),
    ("RATE_LIMIT_UNAUTHENTICATED", "x/y", "RATE_LIMIT_UNAUTHENTICATED must be a rate"),
    ("AUDIT_STREAM_MAXLEN", "5", "AUDIT_STREAM_MAXLEN must be between 100 and"),
    ("CORS_ORIGINS", "https://a.example.com/path", "CORS_ORIGINS entry"),
    ("CORS_ORIGINS", "*", "CORS_ORIGINS entry '*' is not an origin"),
    ("PROXY_FIX_X_FOR", "9", "PROXY_FIX_X_FOR must be between 0 and 5"),
    ("PROXY_FIX_X_PROTO", "a", "PROXY_FIX_X_PROTO must be a whole number"),
    ("PROXY_FIX_X_HOST", "-1", "PROXY_FIX_X_HOST must be between 0 and 5"),
    ("MAX_BODY_BYTES", "10", "MAX_BODY_BYTES must be between 1024 and"),
    # Auth0's Management API takes at most 1 MB per request (docs/limits.md).
    ("MAX_BODY_BYTES", "1048577", "MAX_BODY_BYTES must be between 1024 and 1048576"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR"),
    ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of json, text"),
    ("METRICS_ENABLED", "y3s", "METRICS_ENABLED must be true or false"),
    ("DOCS_ENABLED", "nah", "DOCS_ENABLED must be true or false"),
    ("HTTPS_PROXY", "proxy.internal:3128", "HTTPS_PROXY must be a proxy URL"),
    ("AUTH0_CA_BUNDLE", "/nonexistent/ca.pem", "AUTH0_CA_BUNDLE must name a readable PEM file"),
    ("PANEL_ORIGINS", "https://admin.example.com/app", "PANEL_ORIGINS entry"),
    # Tracing (tests/runtime/test_tracing.py has the cases that need two variables).
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318",
     "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL"),
    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "grpc://collector:4317",
     "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http:// or https:// URL"),
    ("OTEL_TRACES_EXPORTER", "zipkin", "OTEL_TRACES_EXPORTER must be one of otlp, console, none"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift", "OTEL_EXPORTER_OTLP_PROTOCOL must be one of"),
    ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp",
     "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be one of"),
    ("OTEL_SDK_DISABLED", "maybe", "OTEL_SDK_DISABLED must be true or false"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD,
                         ids=[f"{n}={v}" for n, v, _ in BAD])
def test_bad_setting_stops_start_up_naming_it(name: str, value: str | None, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(valid_env(**{name: value}))
    assert any(line.startswith(message) or message in line for line in caught.value.problems), \
        caught.value.problems
    assert all(SECRET not in line for line in caught.value.problems)


def test_every_declared_setting_has_a_rejection_case_or_is_free_text() -> None:
    free_text = {"ROLES_CLAIM", "DEPARTMENT_CLAIM", "REDIS_KEY_PREFIX", "NO_PROXY",
                 "OTEL_SERVICE_NAME"}
    covered = {name for name, _, _ in BAD}
    free_text |= {"AUTH_TIME_CLAIM", "ACR_CLAIM", "AMR_CLAIM"}  # step-up claim names
    assert {s.env for s in SPECS} - covered - free_text == set()


def test_http_allowed_for_loopback_emulator() -> None:
    settings = load_settings(valid_env(AUTH0_DOMAIN="127.0.0.1:8099", AUTH0_SCHEME="http"))
    assert settings.issuer == "http://127.0.0.1:8099/"
    assert settings.management_audience == "http://127.0.0.1:8099/api/v2/"


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({})
    text = str(caught.value)
    for name in ("AUTH0_DOMAIN", "AUTH0_AUDIENCE", "MGMT_TIERS", "TOKEN_CACHE_KEY"):
        assert name in text


def test_secrets_never_show_themselves() -> None:
    settings = load_settings(valid_env())
    assert SECRET not in repr(settings)
    assert KEY not in repr(settings)
    assert isinstance(settings.tier("read").client_secret, Secret)
    assert settings.tier("read").client_secret.reveal() == SECRET
    bad_key = "A" * 40
    with pytest.raises(ConfigError) as caught:
        load_settings(valid_env(TOKEN_CACHE_KEY=bad_key))
    assert bad_key not in str(caught.value)


def test_readme_documents_every_setting() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = settings_markdown()
    for spec in SPECS:
        assert f"`{spec.env}`" in readme, f"README lacks {spec.env}"
        assert f"`{spec.env}`" in table
