"""Every setting of the gateway, read from the environment in one place.

12-factor: the environment is the only source (a `.env` file is loaded into it
by the CLI and `wsgi.py` when present). Each setting is declared once in
`SPECS` with its parser, default, example and meaning; the README's settings
table is generated from the same declarations (`admin-gateway settings`), so
the two cannot drift. Start-up fails with one line per bad variable that names
it, says what is wrong and shows a valid value. Secret values are wrapped in
`Secret` and never printed.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULT_POLICY_FILE = CONFIG_DIR / "policy.toml"

# JWS algorithms the gateway may be told to accept. Symmetric (HS*) and `none`
# are refused outright: with a public JWKS an HS* verifier can be fed the
# public key as the HMAC secret (the classic algorithm-confusion attack).
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
MGMT_PLANS = ("free", "essentials", "enterprise", "enterprise-nonprod", "custom")

_HOST_RE = re.compile(
    r"^(?=.{1,253}(:\d{1,5})?\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(:\d{1,5})?\Z"
)
_TIER_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")
_SCOPE_RE = re.compile(r"^[a-z_]+:[a-z_]+\Z")
_RATE_RE = re.compile(
    r"^\s*\d+\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day)s?\s*\Z", re.IGNORECASE
)


class ConfigError(Exception):
    """The configuration cannot run; `problems` holds one line per bad setting."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class Secret:
    """A string that never shows itself in repr(), str(), logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


class _Invalid(ValueError):
    """Raised by parsers: the message says what is wrong (without the value)."""


# "All endpoints accept a maximum payload size of 1 megabyte" (Auth0's Management API
# reference, docs/limits.md): a larger body could never be forwarded.
AUTH0_MAX_PAYLOAD_BYTES = 1024 * 1024


# --- parsers: each takes the raw string and returns the typed value ----------


def _str(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise _Invalid("must not be empty")
    return value


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise _Invalid("must be a whole number") from None
        if not low <= value <= high:
            raise _Invalid(f"must be between {low} and {high}")
        return value

    return parse


def _float_between(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise _Invalid("must be a number") from None
        if not low <= value <= high:
            raise _Invalid(f"must be between {low:g} and {high:g}")
        return value

    return parse


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _Invalid("must be true or false")


def _domain(raw: str) -> str:
    value = raw.strip()
    if not _HOST_RE.match(value):
        raise _Invalid("must be a host name (no scheme, no path)")
    return value.lower()


def _scheme(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("https", "http"):
        raise _Invalid("must be https or http")
    return value


def _url(raw: str) -> str:
    value = raw.strip()
    if not re.match(r"^[a-z][a-z0-9+.-]*://\S+\Z", value) and not value.startswith("urn:"):
        raise _Invalid("must be an absolute URI")
    return value


def _http_url(raw: str) -> str:
    value = raw.strip()
    if not re.match(r"^https?://[^/\s?#]+(/\S*)?\Z", value):
        raise _Invalid("must be an http:// or https:// URL")
    return value


def _algorithms(raw: str) -> tuple[str, ...]:
    algs = tuple(a.strip() for a in raw.split(",") if a.strip())
    if not algs:
        raise _Invalid("must name at least one algorithm")
    bad = [a for a in algs if a not in ASYMMETRIC_ALGORITHMS]
    if bad:
        raise _Invalid(
            f"names unsupported algorithm(s) {', '.join(bad)}; allowed: "
            + ", ".join(ASYMMETRIC_ALGORITHMS)
        )
    return algs


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _origins(raw: str) -> tuple[str, ...]:
    origins = _csv(raw)
    for origin in origins:
        if not re.match(r"^https?://[^/\s*]+\Z", origin):
            raise _Invalid(f"entry {origin!r} is not an origin (scheme://host[:port], no path)")
    return origins


def _tier_names(raw: str) -> tuple[str, ...]:
    names = _csv(raw.lower())
    if not names:
        raise _Invalid("must name at least one credential tier")
    for name in names:
        if not _TIER_NAME_RE.match(name):
            raise _Invalid(f"tier name {name!r} must be lowercase letters, digits or _")
    if len(set(names)) != len(names):
        raise _Invalid("lists a tier twice")
    return names


def _scopes(raw: str) -> frozenset[str]:
    scopes = frozenset(raw.replace(",", " ").split())
    if not scopes:
        raise _Invalid("must list at least one Management API scope")
    bad = sorted(s for s in scopes if not _SCOPE_RE.match(s))
    if bad:
        raise _Invalid(f"has malformed scope(s) {', '.join(bad)}")
    return scopes


def _fernet_key(raw: str) -> Secret:
    value = raw.strip()
    try:
        decoded = base64.b64decode(value.encode(), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise _Invalid("must be a url-safe base64 Fernet key") from None
    if len(decoded) != 32:
        raise _Invalid("must decode to 32 bytes (a Fernet key)")
    return Secret(value)


def _secret(raw: str) -> Secret:
    if not raw.strip():
        raise _Invalid("must not be empty")
    return Secret(raw.strip())


def _redis_url(raw: str) -> str:
    value = raw.strip()
    schemes = ("redis://", "rediss://", "unix://", "redis+sentinel://", "redis+cluster://")
    if not value.startswith(schemes):
        raise _Invalid("must start with " + ", ".join(schemes))
    return value


def _rate(raw: str) -> str:
    value = raw.strip()
    parts = [p for p in value.split(";") if p.strip()]
    if not parts or not all(_RATE_RE.match(p) for p in parts):
        raise _Invalid("must be a rate such as 120/minute (several joined by ;)")
    return value


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise _Invalid("must be one of " + ", ".join(options))
        return value

    return parse


def _path(raw: str) -> Path:
    return Path(_str(raw)).expanduser()


def _proxy_url(raw: str) -> str:
    value = raw.strip()
    match = re.match(r"^(https?)://(?:[^@/\s]+@)?([^@/\s:]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?/?\Z",
                     value)
    if not match:
        raise _Invalid("must be a proxy URL such as http://proxy.internal:3128 (no path)")
    return value.rstrip("/")


def _ca_bundle(raw: str) -> Path:
    path = _path(raw)
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError:
        raise _Invalid("must name a readable PEM file") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise _Invalid("must hold at least one PEM certificate (-----BEGIN CERTIFICATE-----)")
    return path


def _log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise _Invalid("must be DEBUG, INFO, WARNING or ERROR")
    return value


# --- the declarations --------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One environment variable: where it goes, how it parses, what it means."""

    env: str
    attr: str
    parse: Callable[[str], Any]
    default: str | None  # raw default; None means required
    example: str
    help: str
    secret: bool = False
    group: str = "general"
    shown_default: str | None = None  # the README's Default column, when not `default`


SPECS: tuple[Spec, ...] = (
    # Auth0 tenant
    Spec("AUTH0_DOMAIN", "auth0_domain", _domain, None, "example.eu.auth0.com",
         "Auth0 tenant domain (or custom domain); host[:port], no scheme.", group="Auth0"),
    Spec("AUTH0_SCHEME", "auth0_scheme", _scheme, "https", "https",
         "Scheme used to reach the tenant; `http` is accepted only for a loopback "
         "AUTH0_DOMAIN (the built-in emulator).", group="Auth0"),
    Spec("AUTH0_AUDIENCE", "auth0_audience", _url, None, "https://admin-gateway.example.com/api",
         "Identifier of the API the admin panel's access tokens are issued for; `aud` must "
         "contain it.", group="Auth0"),
    Spec("AUTH0_MANAGEMENT_AUDIENCE", "management_audience", _url, "", "https://example.eu.auth0.com/api/v2/",
         "Management API audience; default `{AUTH0_SCHEME}://{AUTH0_DOMAIN}/api/v2/`. Tokens for "
         "this audience are refused as end-user tokens.", group="Auth0"),
    # End-user token verification
    Spec("JWT_ALGORITHMS", "jwt_algorithms", _algorithms, "RS256", "RS256",
         "Comma-separated JWS algorithms accepted on end-user tokens; `none` and HS* are "
         "never accepted.", group="Token verification"),
    Spec("JWT_LEEWAY_SECONDS", "jwt_leeway_seconds", _int_between(0, 300), "30", "30",
         "Clock skew allowed on `exp`, `nbf` and `iat`.", group="Token verification"),
    Spec("JWT_MAX_TOKEN_BYTES", "jwt_max_token_bytes", _int_between(512, 65536), "8192", "8192",
         "Bearer tokens longer than this are rejected before parsing.", group="Token verification"),
    Spec("JWKS_CACHE_TTL_SECONDS", "jwks_cache_ttl_seconds", _int_between(10, 86400), "600", "600",
         "How long fetched signing keys are used before a refresh.", group="Token verification"),
    Spec("JWKS_REFETCH_COOLDOWN_SECONDS", "jwks_refetch_cooldown_seconds",
         _int_between(1, 3600), "30", "30",
         "At most one JWKS refetch per process in this window, whatever unknown `kid`s arrive.",
         group="Token verification"),
    Spec("VERIFIED_TOKEN_CACHE_SECONDS", "verified_token_cache_seconds", _int_between(0, 300), "30",
         "30", "How long a verified token's principal is reused in-process (never past `exp`); "
         "0 disables.", group="Token verification"),
    Spec("ROLES_CLAIM", "roles_claim", _str, "https://admin-gateway.example.com/roles",
         "https://example.com/roles", "Namespaced claim holding the user's role names.",
         group="Token verification"),
    Spec("DEPARTMENT_CLAIM", "department_claim", _str, "https://admin-gateway.example.com/department",
         "https://example.com/department", "Namespaced claim holding the caller's department "
         "(used by delegated scope rules).", group="Token verification"),
    Spec("AUTH_TIME_CLAIM", "auth_time_claim", _str,
         "https://admin-gateway.example.com/auth_time", "https://example.com/auth_time",
         "Namespaced claim holding when the user last authenticated (epoch seconds; a "
         "post-login Action copies `event.authentication`); step-up (`[step_up]`) reads the "
         "standard `auth_time` first.", group="Token verification"),
    Spec("ACR_CLAIM", "acr_claim", _str, "https://admin-gateway.example.com/acr",
         "https://example.com/acr", "Namespaced claim holding the authentication context "
         "class of that login; step-up reads the standard `acr` first.",
         group="Token verification"),
    Spec("AMR_CLAIM", "amr_claim", _str, "https://admin-gateway.example.com/amr",
         "https://example.com/amr", "Namespaced claim holding the authentication methods of "
         "that login (e.g. [\"pwd\", \"mfa\"]); step-up reads the standard `amr` first.",
         group="Token verification"),
    Spec("TRUST_SCOPE_CLAIM", "trust_scope_claim", _bool, "false", "false",
         "Also take permissions from `scope`. Only safe with RBAC on: without it any client may "
         "request any scope.", group="Token verification"),
    Spec("ALLOW_MACHINE_CALLERS", "allow_machine_callers", _bool, "false", "false",
         "Accept client-credentials tokens (`sub` ending in `@clients`) as callers.",
         group="Token verification"),
    Spec("POLICY_FILE", "policy_file", _path, str(DEFAULT_POLICY_FILE), "config/policy.toml",
         "Roles, permissions and guardrail rules (TOML).", group="Token verification"),
    # Management API credentials
    Spec("MGMT_TIERS", "tier_names", _tier_names, None, "read,write,admin",
         "Credential tiers, each an M2M application; for each NAME set "
         "MGMT_TIER_<NAME>_CLIENT_ID, MGMT_TIER_<NAME>_CLIENT_SECRET and MGMT_TIER_<NAME>_SCOPES.",
         group="Management API"),
    Spec("TOKEN_CACHE_KEY", "token_cache_key", _fernet_key, None,
         "(output of `admin-gateway gen-key`)",
         "Fernet key encrypting Management tokens cached in Redis.", secret=True,
         group="Management API"),
    Spec("TOKEN_CACHE_SKEW_SECONDS", "token_cache_skew_seconds", _int_between(0, 3600), "60", "60",
         "Renew a Management token this long before `exp` (or TOKEN_CACHE_SKEW_RATIO of its "
         "lifetime, whichever is larger).", group="Management API"),
    Spec("TOKEN_CACHE_SKEW_RATIO", "token_cache_skew_ratio", _float_between(0.0, 0.5), "0.1", "0.1",
         "Fraction of a token's lifetime used as renewal skew.", group="Management API"),
    Spec("TOKEN_MINT_LOCK_SECONDS", "token_mint_lock_seconds", _float_between(1, 120), "10", "10",
         "Expiry of the fleet-wide mint lock (a crashed minter frees it after this).",
         group="Management API"),
    Spec("TOKEN_MINT_WAIT_SECONDS", "token_mint_wait_seconds", _float_between(0, 60), "5", "5",
         "How long a process waits for another's mint before minting itself.",
         group="Management API"),
    Spec("STRICT_TIER_SCOPES", "strict_tier_scopes", _bool, "false", "false",
         "Refuse a tier whose token carries more scopes than declared (else warn).",
         group="Management API"),
    Spec("UPSTREAM_CONNECT_TIMEOUT_SECONDS", "upstream_connect_timeout", _float_between(0.1, 30),
         "3.05", "3.05", "Connect timeout for Auth0 calls.", group="Management API"),
    Spec("UPSTREAM_READ_TIMEOUT_SECONDS", "upstream_read_timeout", _float_between(0.1, 120), "10",
         "10", "Read timeout for Auth0 calls.", group="Management API"),
    Spec("UPSTREAM_POOL_SIZE", "upstream_pool_size", _int_between(1, 512), "32", "32",
         "Pooled connections to Auth0 per process.", group="Management API"),
    Spec("UPSTREAM_429_WAIT_SECONDS", "upstream_429_wait_seconds", _float_between(0, 30), "2", "2",
         "Longest a request waits on an Auth0 429 before answering 429 itself.",
         group="Management API"),
    Spec("MGMT_PLAN", "mgmt_plan", _choice(MGMT_PLANS), "free", "enterprise",
         "Auth0 plan: the fleet-wide budget follows its Management API rate limit, and "
         "session and refresh-token operations (Enterprise only) are offered on enterprise, "
         "enterprise-nonprod and custom.",
         group="Guardrails"),
    Spec("MGMT_BUDGET_RATE", "mgmt_budget_rate", _float_between(0, 10000), "0", "16",
         "Override the plan: Management API requests per second for the whole fleet (0 = plan "
         "default).", group="Guardrails"),
    Spec("MGMT_BUDGET_BURST", "mgmt_budget_burst", _int_between(0, 100000), "0", "50",
         "Override the plan's burst (0 = plan default).", group="Guardrails"),
    Spec("MGMT_BUDGET_WAIT_SECONDS", "mgmt_budget_wait_seconds", _float_between(0, 30), "1", "1",
         "Longest a request waits for the fleet budget before a 429.", group="Guardrails"),
    Spec("MGMT_READ_CACHE_SECONDS", "mgmt_read_cache_seconds", _int_between(0, 60), "0", "5",
         "Keep Management API read answers this long in Redis, encrypted (0 = off). Writes "
         "through the gateway invalidate them; changes made elsewhere show after at most this "
         "long; a caller's `Cache-Control: no-cache` reads fresh.", group="Guardrails"),
    Spec("MGMT_BUDGET_FALLBACK_PROCESSES", "mgmt_budget_fallback_processes",
         _int_between(1, 1024), "4", "8",
         "Gateway processes in the fleet (instances x workers): without Redis each process "
         "takes this share of the budget.", group="Guardrails"),
    # Redis
    Spec("REDIS_URL", "redis_url", _redis_url, "redis://127.0.0.1:6379/0",
         "rediss://:password@redis.internal:6380/0",
         "Redis for the token cache, locks, rate limits, budget and audit stream "
         "(redis://, rediss://, unix://, redis+sentinel://, redis+cluster://).", group="Redis"),
    Spec("REDIS_KEY_PREFIX", "redis_key_prefix", _str, "agw:", "agw:",
         "Prefix of every Redis key the gateway writes.", group="Redis"),
    # Guardrails
    Spec("RATE_LIMITS_ENABLED", "rate_limits_enabled", _bool, "true", "true",
         "Per-caller rate limits on/off.", group="Guardrails"),
    Spec("RATE_LIMIT_READS", "rate_limit_reads", _rate, "600/minute", "600/minute",
         "Read operations per caller (subject).", group="Guardrails"),
    Spec("RATE_LIMIT_WRITES", "rate_limit_writes", _rate, "60/minute", "60/minute",
         "Write operations per caller (subject).", group="Guardrails"),
    Spec("RATE_LIMIT_UNAUTHENTICATED", "rate_limit_unauthenticated", _rate, "60/minute",
         "60/minute", "Requests without a valid token, per client IP.", group="Guardrails"),
    Spec("AUDIT_STREAM_MAXLEN", "audit_stream_maxlen", _int_between(100, 10_000_000), "100000",
         "100000", "Approximate length cap of the Redis audit stream.", group="Guardrails"),
    # HTTP runtime
    Spec("CORS_ORIGINS", "cors_origins", _origins, "", "https://admin.example.com",
         "Comma-separated browser origins allowed to call the gateway (empty: none).",
         group="HTTP"),
    Spec("PROXY_FIX_X_FOR", "proxy_fix_x_for", _int_between(0, 5), "0", "1",
         "Trusted reverse-proxy hops for X-Forwarded-For (0 = do not trust).", group="HTTP"),
    Spec("PROXY_FIX_X_PROTO", "proxy_fix_x_proto", _int_between(0, 5), "0", "1",
         "Trusted hops for X-Forwarded-Proto.", group="HTTP"),
    Spec("PROXY_FIX_X_HOST", "proxy_fix_x_host", _int_between(0, 5), "0", "1",
         "Trusted hops for X-Forwarded-Host.", group="HTTP"),
    Spec("MAX_BODY_BYTES", "max_body_bytes", _int_between(1024, AUTH0_MAX_PAYLOAD_BYTES),
         "65536", "65536",
         "Largest request body accepted (413 above); at most 1048576, Auth0's own limit "
         "(docs/limits.md).", group="HTTP"),
    Spec("LOG_LEVEL", "log_level", _log_level, "INFO", "INFO", "Log level.", group="HTTP"),
    Spec("LOG_FORMAT", "log_format", _choice(("json", "text")), "json", "json",
         "JSON lines (production) or text (local reading); either way one line per record, "
         "control characters escaped.", group="HTTP"),
    Spec("METRICS_ENABLED", "metrics_enabled", _bool, "true", "true",
         "Serve Prometheus metrics on /metrics.", group="HTTP"),
    Spec("DOCS_ENABLED", "docs_enabled", _bool, "true", "true",
         "Serve /openapi.json and /docs.", group="HTTP"),
    # Egress: every call to Auth0 (app/egress.py)
    Spec("HTTPS_PROXY", "https_proxy", _proxy_url, "", "http://proxy.internal:3128",
         "Forward proxy for every call to Auth0 (JWKS, /oauth/token, Management API, "
         "provisioning); user:password@ allowed. Empty: direct. Other proxy "
         "variables (lowercase, HTTP_PROXY, ALL_PROXY) are ignored.", secret=True,
         group="Egress"),
    Spec("NO_PROXY", "no_proxy", _csv, "", ".internal,10.0.0.0/8",
         "Comma-separated hosts reached without HTTPS_PROXY: a host, a domain suffix "
         "(`.example.com`), `host:port`, a CIDR network, or `*`.", group="Egress"),
    Spec("AUTH0_CA_BUNDLE", "auth0_ca_bundle", _ca_bundle, "", "/etc/admin-gateway/ca.pem",
         "PEM file of the CA certificates that verify Auth0's (or a TLS-inspecting proxy's) "
         "certificates; replaces the default (certifi) set for calls to Auth0 only. The host's "
         "trust store is neither used nor changed.", group="Egress"),
    Spec("PANEL_ORIGINS", "panel_origins", _origins, "", "https://admin.example.com",
         "Origins the admin panel is served from: its SPA application's callback, logout and "
         "web-origin URLs (provisioning); default CORS_ORIGINS.", group="HTTP"),
    # Tracing: OpenTelemetry's own variables (docs/runtime.md, "Tracing"). Off unless one
    # of the first three asks for it; the SDK reads the other OTEL_* variables itself.
    Spec("OTEL_EXPORTER_OTLP_ENDPOINT", "otel_exporter_otlp_endpoint", _http_url, "",
         "http://otel-collector:4318",
         "OTLP/HTTP collector base URL (spans go to `<it>/v1/traces`); setting it turns "
         "tracing on.", group="Tracing", shown_default="*(unset: off)*"),
    Spec("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "otel_exporter_otlp_traces_endpoint", _http_url,
         "", "http://otel-collector:4318/v1/traces",
         "Full URL spans are sent to (instead of the base URL's `/v1/traces`); setting it "
         "turns tracing on.", group="Tracing", shown_default="*(unset: off)*"),
    Spec("OTEL_TRACES_EXPORTER", "otel_traces_exporter", _choice(("otlp", "console", "none")),
         "", "otlp",
         "`otlp` (to the endpoint above, else http://localhost:4318), `console` (spans on "
         "stdout, for local reading) or `none` (off, whatever else is set); unset: `otlp` "
         "when an endpoint is set, else off.", group="Tracing", shown_default="*(derived)*"),
    Spec("OTEL_EXPORTER_OTLP_PROTOCOL", "otel_exporter_otlp_protocol",
         _choice(("http/protobuf", "grpc", "http/json")), "http/protobuf", "http/protobuf",
         "Only `http/protobuf` (the collector's port 4318) can be used: the gateway ships the "
         "OTLP/HTTP exporter; another value stops start-up when tracing is on.",
         group="Tracing"),
    Spec("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "otel_exporter_otlp_traces_protocol",
         _choice(("http/protobuf", "grpc", "http/json")), "", "http/protobuf",
         "As OTEL_EXPORTER_OTLP_PROTOCOL, for spans only (wins over it when set).",
         group="Tracing", shown_default="*(unset)*"),
    Spec("OTEL_SERVICE_NAME", "otel_service_name", _str, "admin-gateway", "admin-gateway",
         "`service.name` of every span.", group="Tracing"),
    Spec("OTEL_SDK_DISABLED", "otel_sdk_disabled", _bool, "false", "false",
         "`true` turns tracing off whatever else is set.", group="Tracing"),
)

# Header-capture variables the OpenTelemetry HTTP instrumentations read from the process
# environment: a pattern among them that matches one of these headers would put a bearer
# token or a cookie into spans, so start-up refuses it while tracing is on.
OTEL_CAPTURE_HEADER_VARIABLES = tuple(
    f"OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_{side}_{direction}"
    for side in ("SERVER", "CLIENT") for direction in ("REQUEST", "RESPONSE"))
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie",
                      "x-api-key")

TIER_SUFFIXES = ("CLIENT_ID", "CLIENT_SECRET", "SCOPES")


@dataclass(frozen=True)
class TierConfig:
    """One Management API credential tier: an M2M application and its declared scopes."""

    name: str
    client_id: str
    client_secret: Secret
    scopes: frozenset[str]


@dataclass(frozen=True)
class Settings:
    auth0_domain: str
    auth0_audience: str
    tier_names: tuple[str, ...]
    token_cache_key: Secret
    tiers: tuple[TierConfig, ...] = ()
    auth0_scheme: str = "https"
    management_audience: str = ""
    jwt_algorithms: tuple[str, ...] = ("RS256",)
    jwt_leeway_seconds: int = 30
    jwt_max_token_bytes: int = 8192
    jwks_cache_ttl_seconds: int = 600
    jwks_refetch_cooldown_seconds: int = 30
    verified_token_cache_seconds: int = 30
    roles_claim: str = "https://admin-gateway.example.com/roles"
    department_claim: str = "https://admin-gateway.example.com/department"
    auth_time_claim: str = "https://admin-gateway.example.com/auth_time"
    acr_claim: str = "https://admin-gateway.example.com/acr"
    amr_claim: str = "https://admin-gateway.example.com/amr"
    trust_scope_claim: bool = False
    allow_machine_callers: bool = False
    policy_file: Path = DEFAULT_POLICY_FILE
    token_cache_skew_seconds: int = 60
    token_cache_skew_ratio: float = 0.1
    token_mint_lock_seconds: float = 10.0
    token_mint_wait_seconds: float = 5.0
    strict_tier_scopes: bool = False
    upstream_connect_timeout: float = 3.05
    upstream_read_timeout: float = 10.0
    upstream_pool_size: int = 32
    upstream_429_wait_seconds: float = 2.0
    mgmt_plan: str = "free"
    mgmt_budget_rate: float = 0.0
    mgmt_budget_burst: int = 0
    mgmt_budget_wait_seconds: float = 1.0
    mgmt_budget_fallback_processes: int = 4
    mgmt_read_cache_seconds: int = 0
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "agw:"
    rate_limits_enabled: bool = True
    rate_limit_reads: str = "600/minute"
    rate_limit_writes: str = "60/minute"
    rate_limit_unauthenticated: str = "60/minute"
    audit_stream_maxlen: int = 100000
    cors_origins: tuple[str, ...] = ()
    proxy_fix_x_for: int = 0
    proxy_fix_x_proto: int = 0
    proxy_fix_x_host: int = 0
    max_body_bytes: int = 65536
    log_level: str = "INFO"
    log_format: str = "json"
    metrics_enabled: bool = True
    docs_enabled: bool = True
    https_proxy: str = ""
    no_proxy: tuple[str, ...] = ()
    auth0_ca_bundle: Path | None = None
    panel_origins: tuple[str, ...] = ()
    otel_exporter_otlp_endpoint: str = ""
    otel_exporter_otlp_traces_endpoint: str = ""
    otel_traces_exporter: str = ""
    otel_exporter_otlp_protocol: str = "http/protobuf"
    otel_exporter_otlp_traces_protocol: str = ""
    otel_service_name: str = "admin-gateway"
    otel_sdk_disabled: bool = False
    extras: Mapping[str, str] = field(default_factory=dict)

    @property
    def auth0_base_url(self) -> str:
        return f"{self.auth0_scheme}://{self.auth0_domain}"

    @property
    def issuer(self) -> str:
        # Auth0's `iss` always ends with a slash.
        return f"{self.auth0_base_url}/"

    @property
    def jwks_url(self) -> str:
        return f"{self.auth0_base_url}/.well-known/jwks.json"

    @property
    def token_url(self) -> str:
        return f"{self.auth0_base_url}/oauth/token"

    @property
    def management_url(self) -> str:
        """Base URL of the Management API (no trailing slash)."""
        return f"{self.auth0_base_url}/api/v2"

    @property
    def traces_exporter(self) -> str | None:
        """`otlp` or `console` when tracing is on; None when it is off (the default)."""
        return _traces_exporter(self.otel_sdk_disabled, self.otel_traces_exporter,
                                self.otel_exporter_otlp_endpoint,
                                self.otel_exporter_otlp_traces_endpoint)

    @property
    def otlp_traces_url(self) -> str:
        """Where OTLP/HTTP spans go, resolved as the OpenTelemetry specification says."""
        if self.otel_exporter_otlp_traces_endpoint:
            return self.otel_exporter_otlp_traces_endpoint
        base = self.otel_exporter_otlp_endpoint or "http://localhost:4318"
        return base.rstrip("/") + "/v1/traces"

    def tier(self, name: str) -> TierConfig:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise KeyError(name)


def _describe(spec: Spec, message: str, raw: str | None) -> str:
    got = "" if raw is None or spec.secret else f", got {raw!r}"
    return f"{spec.env} {message}, e.g. {spec.example}{got}"


def _host_of(domain: str) -> str:
    return domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain


def _is_loopback(domain: str) -> bool:
    host = _host_of(domain).strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _load_tiers(
    environ: Mapping[str, str], names: tuple[str, ...], problems: list[str]
) -> tuple[TierConfig, ...]:
    tiers = []
    for name in names:
        prefix = f"MGMT_TIER_{name.upper()}_"
        values: dict[str, str] = {}
        for suffix in TIER_SUFFIXES:
            raw = environ.get(prefix + suffix, "").strip()
            if not raw:
                example = {"CLIENT_ID": "aBc123...", "CLIENT_SECRET": "(from your secret store)",
                           "SCOPES": "read:users read:roles"}[suffix]
                problems.append(f"{prefix}{suffix} is required for tier {name!r}, e.g. {example}")
            values[suffix] = raw
        if not all(values.values()):
            continue
        try:
            scopes = _scopes(values["SCOPES"])
        except _Invalid as exc:
            problems.append(f"{prefix}SCOPES {exc}, e.g. read:users read:roles, got "
                            f"{values['SCOPES']!r}")
            continue
        tiers.append(TierConfig(name, values["CLIENT_ID"], Secret(values["CLIENT_SECRET"]), scopes))
    return tuple(tiers)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Parse and validate every setting; raise ConfigError listing all problems."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for spec in SPECS:
        raw = environ.get(spec.env)
        if raw is None or not raw.strip():
            # Unset and empty mean the same: the default, if there is one.
            if spec.default is None:
                problems.append(_describe(spec, "is required", None))
                continue
            if spec.default == "":
                continue  # the dataclass default, or derived below
            raw_value = spec.default
        else:
            raw_value = raw
        try:
            values[spec.attr] = spec.parse(raw_value)
        except _Invalid as exc:
            problems.append(_describe(spec, str(exc), raw))

    domain = values.get("auth0_domain")
    if domain and values.get("auth0_scheme") == "http" and not _is_loopback(domain):
        problems.append(
            f"AUTH0_SCHEME may be http only for a loopback AUTH0_DOMAIN (the emulator), "
            f"e.g. https, got 'http' with {domain!r}"
        )
    if domain and "management_audience" not in values:
        values["management_audience"] = f"{values.get('auth0_scheme', 'https')}://{domain}/api/v2/"
    if "auth0_audience" in values and values["auth0_audience"] == values.get("management_audience"):
        problems.append(
            "AUTH0_AUDIENCE must be your own API's identifier, not the Management API, "
            f"e.g. https://admin-gateway.example.com/api, got {values['auth0_audience']!r}"
        )
    if "panel_origins" not in values and "cors_origins" in values:
        values["panel_origins"] = values["cors_origins"]
    if "tier_names" in values:
        values["tiers"] = _load_tiers(environ, values["tier_names"], problems)
    policy = values.get("policy_file")
    if isinstance(policy, Path) and not policy.is_file():
        problems.append(f"POLICY_FILE must name a readable TOML file, e.g. config/policy.toml, "
                        f"got {str(policy)!r}")

    _check_tracing(environ, values, problems)

    if problems:
        raise ConfigError(problems)
    return Settings(**values)


def _traces_exporter(disabled: bool, exporter: str, endpoint: str,
                     traces_endpoint: str) -> str | None:
    if disabled or exporter == "none":
        return None
    if exporter:
        return exporter
    return "otlp" if endpoint or traces_endpoint else None


def _check_tracing(environ: Mapping[str, str], values: dict[str, Any],
                   problems: list[str]) -> None:
    """With tracing on: the exporter the gateway ships, and no credential header captured."""
    exporter = _traces_exporter(values.get("otel_sdk_disabled", False),
                                values.get("otel_traces_exporter", ""),
                                values.get("otel_exporter_otlp_endpoint", ""),
                                values.get("otel_exporter_otlp_traces_endpoint", ""))
    if exporter is None:
        return
    traces_protocol = values.get("otel_exporter_otlp_traces_protocol", "")
    protocol = traces_protocol or values.get("otel_exporter_otlp_protocol", "http/protobuf")
    if exporter == "otlp" and protocol != "http/protobuf":
        name = "OTEL_EXPORTER_OTLP_" + ("TRACES_" if traces_protocol else "") + "PROTOCOL"
        problems.append(f"{name} must be http/protobuf while tracing is on (the gateway ships "
                        f"the OTLP/HTTP exporter: use the collector's port 4318), "
                        f"e.g. http/protobuf, got {protocol!r}")
    for name in OTEL_CAPTURE_HEADER_VARIABLES:
        raw = environ.get(name, "").strip()
        if not raw:
            continue
        # As the instrumentations read them: comma-separated, each a case-insensitive pattern.
        patterns = [p.strip() for p in raw.split(",") if p.strip()]
        try:
            captured = re.compile("|".join(patterns), re.IGNORECASE)
        except re.error:
            problems.append(f"{name} must list header names or patterns, e.g. user-agent, "
                            f"got {raw!r}")
            continue
        leaked = [h for h in CREDENTIAL_HEADERS if captured.fullmatch(h)]
        if leaked:
            problems.append(f"{name} would put {', '.join(leaked)} into spans while tracing is "
                            f"on; list only headers without credentials, e.g. user-agent, "
                            f"got {raw!r}")


def settings_markdown() -> str:
    """The README's settings table, generated from SPECS."""
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for spec in SPECS:
        default = "*(required)*" if spec.default is None else (f"`{spec.default}`" if spec.default
                                                                 else "*(derived)*")
        if spec.env == "POLICY_FILE":
            default = "`config/policy.toml`"
        if spec.shown_default is not None:
            default = spec.shown_default
        lines.append(f"| `{spec.env}` | {default} | {spec.help} |")
    lines.append("| `MGMT_TIER_<NAME>_CLIENT_ID` | *(required per tier)* | Client id of the tier's "
                 "M2M application. |")
    lines.append("| `MGMT_TIER_<NAME>_CLIENT_SECRET` | *(required per tier)* | Its client secret "
                 "(from the environment or a secret store, never a file in the repo). |")
    lines.append("| `MGMT_TIER_<NAME>_SCOPES` | *(required per tier)* | Space-separated Management "
                 "API scopes granted to that application. |")
    return "\n".join(lines)
