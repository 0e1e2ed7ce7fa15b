"""Interactive login state: the SPA application, login sessions, authorization codes.

What ``@auth0/auth0-react`` needs to log a demo user in on loopback: the
authorization code flow with PKCE (RFC 7636) for one public client, the admin
panel (``tenant.panel_client_id``), whose allowed callback URLs, logout URLs and
web origins are the panel's origin(s). Codes are single use and short lived
(RFC 6749 §4.1.2: at most 10 minutes); a session cookie lets ``prompt=none``
(silent authentication) answer without a login page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CODE_LIFETIME = 600  # seconds (RFC 6749 §4.1.2 recommends at most 10 minutes)
PENDING_LIFETIME = 900  # seconds a login page stays usable
SESSION_LIFETIME = 8 * 3600
BROWSER_TOKEN_LIFETIME = 7200  # Auth0's default "Token Expiration For Browser Flows"
ID_TOKEN_LIFETIME = 36000  # Auth0's default ID token expiration
PKCE_METHODS = ("S256", "plain")  # what discovery advertises (RFC 7636 §4.2)
# The acr Auth0 reports after multi-factor authentication (and that an application asks
# for with acr_values to require it).
MFA_ACR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
PASSWORD_ONLY = ("pwd",)
WITH_MFA = ("pwd", "mfa")


class GrantError(Exception):
    """The code exchange failed: an OAuth error with status, code and description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lowercased (RFC 6454 §4), or "" if it has none."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


@dataclass
class SpaApplication:
    """A single-page application: a public client (no secret, token auth method "none")."""

    client_id: str
    name: str
    # Exact-match lists, as the Auth0 dashboard's "Allowed Callback URLs" etc.
    callbacks: list[str] = field(default_factory=list)
    allowed_logout_urls: list[str] = field(default_factory=list)
    web_origins: list[str] = field(default_factory=list)
    grant_types: list[str] = field(default_factory=lambda: ["authorization_code", "implicit"])

    def allow_origin(self, origin: str) -> None:
        """Let a panel served at ``origin`` log in, log out and call /oauth/token."""
        origin = origin.rstrip("/")
        for urls in (self.callbacks, self.allowed_logout_urls):
            for url in (origin, origin + "/"):
                if url not in urls:
                    urls.append(url)
        if origin not in self.web_origins:
            self.web_origins.append(origin)


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated ``/authorize`` request, waiting for a login or answered at once."""

    client_id: str
    redirect_uri: str
    response_mode: str
    state: str | None
    nonce: str | None
    scope: str
    audience: str | None
    code_challenge: str
    code_challenge_method: str
    # OIDC Core §3.1.2.1 / RFC 9470: what the application asks of the login.
    acr_values: tuple[str, ...] = ()
    max_age: int | None = None

    @property
    def wants_mfa(self) -> bool:
        return MFA_ACR in self.acr_values

    def satisfied_by(self, auth_time: int, amr: tuple[str, ...], now: float) -> bool:
        """Whether an existing session may answer without a new login."""
        if self.max_age is not None and now - auth_time > self.max_age:
            return False
        return not self.wants_mfa or "mfa" in amr


@dataclass(frozen=True)
class CodeGrant:
    """What an authorization code stands for."""

    request: AuthorizationRequest
    user_id: str
    session_id: str
    auth_time: int
    expires_at: float
    amr: tuple[str, ...] = PASSWORD_ONLY  # how the user authenticated


def verify_pkce(verifier: str, challenge: str, method: str) -> bool:
    """RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge (S256)."""
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    else:
        computed = verifier
    return hmac.compare_digest(computed.encode(), challenge.encode())


def valid_verifier(verifier: str) -> bool:
    """RFC 7636 §4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"."""
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    return 43 <= len(verifier) <= 128 and set(verifier) <= allowed


class LoginState:
    """Pending login pages, sessions and codes of one tenant, behind their own lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[AuthorizationRequest, float]] = {}
        # sid -> user, auth_time, amr, exp
        self._sessions: dict[str, tuple[str, int, tuple[str, ...], float]] = {}
        self._codes: dict[str, CodeGrant] = {}

    # -- the login page -----------------------------------------------------------

    def park(self, request: AuthorizationRequest) -> str:
        """Keep a request while its login page is shown; the id goes into the form."""
        transaction = secrets.token_urlsafe(24)
        with self._lock:
            self._expire()
            self._pending[transaction] = (request, time.monotonic() + PENDING_LIFETIME)
        return transaction

    def take_pending(self, transaction: str) -> AuthorizationRequest | None:
        """The parked request (once: a form cannot be submitted twice)."""
        with self._lock:
            self._expire()
            found = self._pending.pop(transaction, None)
        return found[0] if found else None

    # -- sessions -----------------------------------------------------------------

    def start_session(self, user_id: str, amr: tuple[str, ...] = PASSWORD_ONLY) -> str:
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[session_id] = (user_id, int(time.time()), tuple(amr),
                                          time.monotonic() + SESSION_LIFETIME)
        return session_id

    def session(self, session_id: str | None) -> tuple[str, int, tuple[str, ...]] | None:
        """(user_id, auth_time, amr) of a live session."""
        if not session_id:
            return None
        with self._lock:
            self._expire()
            found = self._sessions.get(session_id)
        return (found[0], found[1], found[2]) if found else None

    def end_session(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._sessions.pop(session_id, None)

    # -- codes --------------------------------------------------------------------

    def issue_code(self, request: AuthorizationRequest, user_id: str, session_id: str,
                   auth_time: int, amr: tuple[str, ...] = PASSWORD_ONLY) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = CodeGrant(request, user_id, session_id, auth_time,
                                          time.monotonic() + CODE_LIFETIME, tuple(amr))
        return code

    def redeem_code(self, code: str, *, client_id: str, redirect_uri: str | None,
                    code_verifier: str | None) -> CodeGrant:
        """Exchange a code once. Any failure consumes it (RFC 6749 §4.1.2: single use)."""
        with self._lock:
            grant = self._codes.pop(code, None)
        # Auth0 answers 403 invalid_grant "Invalid authorization code" for unknown,
        # used, expired and other clients' codes, and for a redirect_uri mismatch.
        if grant is None or grant.expires_at < time.monotonic():
            raise GrantError(403, "invalid_grant", "Invalid authorization code")
        if grant.request.client_id != client_id:
            raise GrantError(403, "invalid_grant", "Invalid authorization code")
        # RFC 6749 §4.1.3: redirect_uri must be identical to the one of the request.
        if redirect_uri != grant.request.redirect_uri:
            raise GrantError(403, "invalid_grant", "Invalid authorization code")
        if not code_verifier:
            raise GrantError(403, "invalid_grant", "Parameter 'code_verifier' is required")
        if not valid_verifier(code_verifier) or not verify_pkce(
                code_verifier, grant.request.code_challenge, grant.request.code_challenge_method):
            raise GrantError(403, "invalid_grant", "Failed to verify code verifier")
        return grant

    def _expire(self) -> None:
        now = time.monotonic()
        for table in (self._pending, self._codes, self._sessions):
            stale = [key for key, value in table.items() if _deadline(value) < now]
            for key in stale:
                del table[key]


def _deadline(value: object) -> float:
    if isinstance(value, CodeGrant):
        return value.expires_at
    assert isinstance(value, tuple)
    deadline = value[-1]
    assert isinstance(deadline, float)
    return deadline
