"""RSA signing keys of the emulated tenant and their rotation (Auth0 "signing keys").

Auth0 publishes every key it may sign with in the JWKS, signs with exactly one
at a time and rotates manually: a *next* key is published before it signs, the
*previous* one stays published until it is revoked. The ring models that.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import GuestProtocol, RSAKey


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """One RSA key pair with the identifiers Auth0 publishes for it."""

    kid: str
    private_key: rsa.RSAPrivateKey
    public_jwk: dict[str, Any]

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def generate(cls, common_name: str = "emulator.auth0.local") -> SigningKey:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAKey.import_key(private_key.public_key())
        # Auth0 kids are opaque strings; the RFC 7638 thumbprint is stable and unique.
        kid = jwk.thumbprint()
        cert = _self_signed_cert(private_key, common_name)
        der = cert.public_bytes(serialization.Encoding.DER)
        public = dict(jwk.as_dict(private=False))
        # Same members as Auth0's JWKS entries (x5c/x5t included for libraries that use them).
        public.update(
            {
                "kid": kid,
                "use": "sig",
                "alg": "RS256",
                "x5c": [base64.b64encode(der).decode("ascii")],
                "x5t": _b64url(hashlib.sha1(der).digest()),  # noqa: S324 - x5t is SHA-1 by RFC 7517
            }
        )
        return cls(kid=kid, private_key=private_key, public_jwk=public)


def _self_signed_cert(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )


class KeyRing:
    """Published keys, the one that currently signs, and an optional next key.

    The first key is generated on first use: RSA key generation is the slowest
    part of a new tenant, and many tenants (data-only tests) never sign.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._published: dict[str, SigningKey] = {}
        self._current: SigningKey | None = None
        self._next: SigningKey | None = None
        # Revoked keys stay known so tests can still sign with them (and expect rejection).
        self._retired: dict[str, SigningKey] = {}
        self._foreign: SigningKey | None = None

    def _started(self) -> SigningKey:
        with self._lock:
            if self._current is None:
                self._current = SigningKey.generate()
                self._published[self._current.kid] = self._current
            return self._current

    @property
    def foreign(self) -> SigningKey:
        """A key that is never published: tokens it signs must be rejected."""
        with self._lock:
            if self._foreign is None:
                self._foreign = SigningKey.generate(common_name="foreign.invalid")
            return self._foreign

    @property
    def current(self) -> SigningKey:
        return self._started()

    @property
    def current_kid(self) -> str:
        return self.current.kid

    @property
    def next(self) -> SigningKey | None:
        with self._lock:
            return self._next

    @property
    def next_kid(self) -> str | None:
        with self._lock:
            return self._next.kid if self._next else None

    @property
    def published_kids(self) -> list[str]:
        with self._lock:
            self._started()
            return list(self._published)

    def get(self, kid: str) -> SigningKey | None:
        """A published key by kid (None when unknown or revoked)."""
        with self._lock:
            self._started()
            return self._published.get(kid)

    def verification_key(self, guest: GuestProtocol) -> RSAKey:
        """joserfc key resolver: the published key named by the token's kid.

        Auth0 always sets kid; a token without one, or with an unpublished one, is invalid.
        """
        kid = guest.headers().get("kid")
        found = self.get(kid) if isinstance(kid, str) else None
        if found is None:
            raise ValueError("unknown kid")
        return RSAKey.import_key(found.public_jwk)

    def any_key(self, kid: str) -> SigningKey | None:
        """A published or revoked key by kid, for signing negative-test tokens."""
        with self._lock:
            self._started()
            return self._published.get(kid) or self._retired.get(kid)

    def publish_next(self) -> str:
        """Publish a new key in the JWKS without signing with it yet."""
        with self._lock:
            self._started()
            if self._next is None:
                self._next = SigningKey.generate()
                self._published[self._next.kid] = self._next
            return self._next.kid

    def promote_next(self) -> str:
        """Sign with the next key from now on; the old key stays published."""
        with self._lock:
            self.publish_next()
            assert self._next is not None
            self._current, self._next = self._next, None
            return self._current.kid

    def revoke(self, kid: str) -> None:
        """Remove a key from the JWKS; tokens signed with it stop verifying.

        Revoking the signing key itself is refused, as Auth0 only lets you
        revoke the previous key.
        """
        with self._lock:
            if kid == self._started().kid:
                raise ValueError("cannot revoke the key that currently signs")
            if kid not in self._published:
                raise KeyError(kid)
            self._retired[kid] = self._published.pop(kid)
            if self._next is not None and self._next.kid == kid:
                self._next = None

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            self._started()
            return {"keys": [dict(k.public_jwk) for k in self._published.values()]}
