"""Minting Management API tokens with the client-credentials grant (RFC 6749 §4.4).

One request per call, no caching here (the broker caches). Every failure is a
Problem the broker never caches: 502 when Auth0 refuses or answers nonsense,
504 when it does not answer in time. Neither responses nor logs carry the
client secret, the token, or Auth0's raw error body (its `error_description`
may echo request parameters); only the OAuth `error` code is kept.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import requests
from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from app import tracing
from app.egress import egress_session
from app.errors import Problem
from app.metrics import TOKEN_MINTS, TOKEN_SCOPE_MISMATCH
from config.settings import Settings, TierConfig

log = logging.getLogger("admin_gateway.token_broker")

_OAUTH_ERROR_CODE = re.compile(r"^[a-z_]{1,64}\Z")


@dataclass(frozen=True)
class MintedToken:
    access_token: str
    exp: float  # epoch seconds, on this host's clock
    lifetime: float  # seconds the token is valid in total
    granted: frozenset[str]


def pooled_session(settings: Settings) -> requests.Session:
    """The process's HTTP session to Auth0's token endpoint (keep-alive, bounded pool). The
    Management API's calls have their own urllib3 pool (transport.py): mints are rare, so
    they stay on requests and its instrumentation."""
    # Egress settings (HTTPS_PROXY, NO_PROXY, AUTH0_CA_BUNDLE) and nothing from the host's
    # environment (no proxy variables, CA bundle or .netrc): app/egress.py.
    return egress_session(settings, pool_connections=4, pool_maxsize=settings.upstream_pool_size)


def _jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a token we just received over TLS from Auth0, NOT verified.

    Only its timing claims are read, to know when to renew; the token is never
    trusted for anything (Auth0 verifies it when we present it).
    """
    try:
        data = json.loads(extract_compact(token.encode()).payload)
    except (JoseError, ValueError, UnicodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)


class Minter:
    """Requests tokens for credential tiers and checks what Auth0 granted."""

    def __init__(self, settings: Settings, session: requests.Session) -> None:
        self._settings = settings
        self._session = session

    def mint(self, tier: TierConfig) -> MintedToken:
        # A span when tracing is on: the tier's name, never the secret nor the token.
        with tracing.token_mint_span(tier.name):
            started = time.time()
            body = self._request(tier)
            token = self._parse(tier, body, started)
            self._check_scopes(tier, token.granted)
            TOKEN_MINTS.labels(tier.name, "ok").inc()
            log.info("minted a Management API token for tier %s (client %s), valid %ds",
                     tier.name, tier.client_id, int(token.exp - time.time()),
                     extra={"tier": tier.name, "client_id": tier.client_id})
            return token

    def _request(self, tier: TierConfig) -> dict[str, Any]:
        settings = self._settings
        form = {
            "grant_type": "client_credentials",
            "client_id": tier.client_id,
            "client_secret": tier.client_secret.reveal(),
            "audience": settings.management_audience,
            # Auth0 ignores it (the grant decides), other servers honour it: correct OAuth.
            "scope": " ".join(sorted(tier.scopes)),
        }
        try:
            response = self._session.post(
                settings.token_url, data=form, headers={"Accept": "application/json"},
                timeout=(settings.upstream_connect_timeout, settings.upstream_read_timeout),
                # A redirect would re-send the client secret somewhere we did not choose.
                allow_redirects=False,
            )
        except requests.Timeout:
            TOKEN_MINTS.labels(tier.name, "timeout").inc()
            log.error("token endpoint timed out for tier %s (client %s)", tier.name,
                      tier.client_id, extra={"tier": tier.name})
            raise Problem(504, "Auth0 did not issue a Management API token in time.",
                          slug="token-endpoint-timeout") from None
        except requests.RequestException as exc:
            TOKEN_MINTS.labels(tier.name, "error").inc()
            log.error("token endpoint unreachable for tier %s (client %s): %s", tier.name,
                      tier.client_id, type(exc).__name__, extra={"tier": tier.name})
            raise Problem(502, "Auth0's token endpoint could not be reached.",
                          slug="token-endpoint-error") from None
        with response:
            if response.status_code != 200:
                raise self._refused(tier, response)
            try:
                data = response.json()
            except ValueError:
                data = None
        if not isinstance(data, dict):
            raise self._malformed(tier, "the body is not a JSON object")
        return data

    def _refused(self, tier: TierConfig, response: requests.Response) -> Problem:
        TOKEN_MINTS.labels(tier.name, "error").inc()
        status = response.status_code
        code = None
        try:
            error = response.json().get("error")
            if isinstance(error, str) and _OAUTH_ERROR_CODE.match(error):
                code = error
        except (ValueError, AttributeError):
            pass
        reason = f"HTTP {status}" + (f" {code}" if code else "")
        log.error("token endpoint refused tier %s (client %s): %s; check this application's "
                  "client secret, its client_credentials grant type and its grant for %s",
                  tier.name, tier.client_id, reason, self._settings.management_audience,
                  extra={"tier": tier.name, "upstream_status": status})
        if status == 429:
            detail = "Auth0 rate-limited the gateway's token requests; try again shortly."
        else:
            detail = ("Auth0 refused the gateway's Management API credentials; an operator "
                      "must fix them (the gateway's log names the tier under this request id).")
        # Tier names, scopes and Auth0's answer are operator matters: the log has them.
        return Problem(502, detail, slug="token-endpoint-error")

    def _malformed(self, tier: TierConfig, what: str) -> Problem:
        TOKEN_MINTS.labels(tier.name, "error").inc()
        log.error("token endpoint answered tier %s (client %s) with an unusable response: %s",
                  tier.name, tier.client_id, what, extra={"tier": tier.name})
        return Problem(502, "Auth0's token endpoint answered with an unusable response.",
                       slug="token-endpoint-error")

    def _parse(self, tier: TierConfig, body: dict[str, Any], started: float) -> MintedToken:
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise self._malformed(tier, "no access_token")
        token_type = body.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise self._malformed(tier, "token_type is not Bearer")
        claims = _jwt_claims(access_token)
        expires_in = _number(body.get("expires_in"))
        jwt_exp, jwt_iat = _number(claims.get("exp")), _number(claims.get("iat"))
        # expires_in counted from when we asked is right whatever Auth0's clock says;
        # `exp` is right if the clocks agree. Trust whichever ends sooner.
        candidates = [e for e in (jwt_exp, started + expires_in if expires_in else None) if e]
        if not candidates:
            raise self._malformed(tier, "neither expires_in nor an exp claim")
        exp = min(candidates)
        if jwt_exp and jwt_iat and jwt_exp > jwt_iat:
            lifetime = jwt_exp - jwt_iat
        else:
            lifetime = expires_in or exp - started
        if exp <= time.time():
            raise self._malformed(tier, "the token has already expired")
        scope = body.get("scope")
        if scope is None:
            # RFC 6749 §5.1: an absent scope means exactly the requested one.
            granted = frozenset(tier.scopes)
        elif isinstance(scope, str):
            granted = frozenset(scope.split())
        else:
            raise self._malformed(tier, "scope is not a string")
        return MintedToken(access_token, exp, lifetime, granted)

    def _check_scopes(self, tier: TierConfig, granted: frozenset[str]) -> None:
        missing = tier.scopes - granted
        extra = granted - tier.scopes
        if missing:
            TOKEN_SCOPE_MISMATCH.labels(tier.name, "missing").inc()
            TOKEN_MINTS.labels(tier.name, "misconfigured").inc()
            log.error(
                "tier %s is misconfigured: Auth0 did not grant %s to client %s; add them to "
                "that application's client grant for %s (or remove them from "
                "MGMT_TIER_%s_SCOPES)", tier.name, " ".join(sorted(missing)), tier.client_id,
                self._settings.management_audience, tier.name.upper(),
                extra={"tier": tier.name, "missing_scopes": sorted(missing)})
            raise Problem(502, "A credential tier of the gateway lacks scopes it declares; "
                          "an operator must fix its client grant.", slug="tier-misconfigured")
        if extra:
            TOKEN_SCOPE_MISMATCH.labels(tier.name, "extra").inc()
            strict = self._settings.strict_tier_scopes
            log.warning(
                "tier %s is over-granted: Auth0 granted %s to client %s beyond "
                "MGMT_TIER_%s_SCOPES; remove them from that application's client grant%s",
                tier.name, " ".join(sorted(extra)), tier.client_id, tier.name.upper(),
                " (refused: STRICT_TIER_SCOPES is on)" if strict else "",
                extra={"tier": tier.name, "extra_scopes": sorted(extra)})
            if strict:
                TOKEN_MINTS.labels(tier.name, "refused").inc()
                raise Problem(502, "A credential tier of the gateway is granted more scopes "
                              "than it declares and strict tier scopes are on; an operator "
                              "must narrow its client grant.", slug="tier-over-granted")
