"""Verification of end-user access tokens (JWS compact, RFC 7515/7519, RFC 8725, RFC 9068).

`TokenVerifier.verify` checks the size, the header, the key from the JWKS, the
signature and the claims, in that order, and raises `TokenRejected` with the
`reason` label of `agw_token_rejections_total` at the first failing check.

Design: docs/authentication.md, "What is checked, and every rejection".
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from joserfc import jws
from joserfc.errors import (
    ClaimError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingAlgorithmError,
    MissingClaimError,
    UnsupportedHeaderError,
)
from joserfc.jwt import JWTClaimsRegistry

from config.settings import Settings

from .jwks import JwksCache

# RFC 7515 §4.1.9: typ is a media type, compared case-insensitively, and the
# "application/" prefix may be omitted.
ACCEPTED_TYPES = frozenset({"jwt", "at+jwt", "application/jwt", "application/at+jwt"})
# Headers that carry a key or point at one: trusting them lets the token choose
# the key that verifies it (RFC 8725 §3.10 warns about jku/x5u fetches).
UNTRUSTED_KEY_HEADERS = ("jwk", "jku", "x5u", "x5c")
# Auth0 kids are base64url-ish; anything with spaces, quotes or control
# characters is junk and never worth a JWKS refetch.
_KID = re.compile(r"^[A-Za-z0-9._~+/=-]{1,128}\Z")
# Key types that can verify each algorithm family.
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC"}


class TokenRejected(Exception):
    """The token is not acceptable. `reason` is a stable metric label, `description`
    is safe to send back (RFC 6750 error_description) — it never quotes the token."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description


class TokenVerifier:
    def __init__(self, settings: Settings, jwks: JwksCache) -> None:
        self._settings = settings
        self._jwks = jwks
        self._algorithms: Collection[str] = settings.jwt_algorithms
        self._registry = jws.JWSRegistry(algorithms=list(settings.jwt_algorithms),
                                         strict_check_header=True)
        # The whole token is size-checked first (JWT_MAX_TOKEN_BYTES). joserfc's 512-byte
        # header limit would hide *why* a header is refused (an embedded `jwk` is larger).
        self._registry.max_header_length = settings.jwt_max_token_bytes
        self._claims = JWTClaimsRegistry(
            leeway=settings.jwt_leeway_seconds,
            iss={"essential": True, "value": settings.issuer},
            aud={"essential": True, "value": settings.auth0_audience},
            exp={"essential": True},
            sub={"essential": True},
        )

    def verify(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`, or raise TokenRejected."""
        if len(token) > self._settings.jwt_max_token_bytes:
            raise TokenRejected("too_large", "The token is too large")
        try:
            compact = jws.extract_compact(token.encode("ascii"), registry=self._registry)
        except MissingAlgorithmError:
            raise TokenRejected("algorithm", "The token algorithm is not accepted") from None
        except (JoseError, ValueError, UnicodeError):
            raise TokenRejected("malformed", "The token is not a well-formed JWS") from None
        # joserfc only checks that "alg" is *in* the decoded header: a JSON string or
        # array containing "alg" gets through, and must not reach code expecting a dict.
        if not isinstance(compact.protected, dict):
            raise TokenRejected("malformed", "The token header is not a JSON object")
        header = compact.headers()
        alg = self._check_header(header)
        found = self._jwks.key(header["kid"])
        if found is None:
            raise TokenRejected("unknown_kid", "The token was signed by an unknown key")
        key, key_alg = found
        if (key_alg is not None and key_alg != alg) or key.key_type != _KEY_TYPES.get(alg[:2]):
            raise TokenRejected("key_mismatch", "The signing key does not match the algorithm")
        try:
            valid = jws.validate_compact(compact, key, registry=self._registry)
        except UnsupportedHeaderError:
            raise TokenRejected("header", "The token header has unsupported members") from None
        except JoseError:
            valid = False
        if not valid:
            raise TokenRejected("bad_signature", "The token signature is invalid")
        claims = self._claims_of(compact.payload)
        self._validate_claims(claims)
        return claims

    def _check_header(self, header: dict[str, Any]) -> str:
        if "crit" in header:
            # RFC 7515 §4.1.11: we understand no extension, so a crit token must be refused.
            raise TokenRejected("crit", "The token uses critical header extensions")
        embedded = [name for name in UNTRUSTED_KEY_HEADERS if name in header]
        if embedded:
            raise TokenRejected("untrusted_key_header",
                                f"The token header carries a key reference ({embedded[0]})")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise TokenRejected("algorithm", "The token algorithm is not accepted")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
            raise TokenRejected("typ", "The token type (typ) must be JWT or at+jwt")
        kid = header.get("kid")
        if not isinstance(kid, str) or not _KID.match(kid):
            raise TokenRejected("kid", "The token key id (kid) is missing or malformed")
        return alg

    @staticmethod
    def _claims_of(payload: bytes | None) -> dict[str, Any]:
        try:
            claims = json.loads(payload or b"")
        except (ValueError, UnicodeError):
            claims = None
        if not isinstance(claims, dict):
            raise TokenRejected("malformed", "The token payload is not a JSON object")
        return claims

    def _validate_claims(self, claims: dict[str, Any]) -> None:
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if self._settings.management_audience in audiences:
            # A Management API token must never act as a caller's identity.
            raise TokenRejected("management_audience",
                                "Management API tokens are not accepted here")
        try:
            self._claims.validate(claims)
        except ExpiredTokenError:
            raise TokenRejected("expired", "The token has expired") from None
        except MissingClaimError as exc:
            raise TokenRejected("missing_claim",
                                f"The token lacks required claims: {exc.claim}") from None
        except InvalidClaimError as exc:
            reason, text = _CLAIM_REASONS.get(exc.claim, ("invalid_claim", ""))
            raise TokenRejected(reason, text or f"The token claim {exc.claim} is invalid") \
                from None
        except ClaimError:
            raise TokenRejected("invalid_claim", "The token claims are invalid") from None


_CLAIM_REASONS = {
    "iss": ("issuer", "The token issuer is not this tenant"),
    "aud": ("audience", "The token is not meant for this API"),
    "nbf": ("not_yet_valid", "The token is not valid yet"),
    "iat": ("iat", "The token issue time is in the future or invalid"),
}
