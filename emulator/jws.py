"""Compact JWS serialization with full control over the header.

Well-behaved JOSE libraries refuse to produce the malformed tokens negative
tests need (``alg: none``, HS256 keyed with a public key, ``crit``, ``jku``),
so the emulator serializes tokens itself; verification stays with libraries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(obj: dict[str, Any]) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def encode(
    header: dict[str, Any],
    claims: dict[str, Any],
    *,
    rsa_key: rsa.RSAPrivateKey | None = None,
    hmac_secret: bytes | None = None,
) -> str:
    """Serialize and sign according to ``header["alg"]``.

    ``none`` yields an unsigned token with an empty signature (RFC 7519 §6.1).
    RS256 needs ``rsa_key``; HS256 needs ``hmac_secret``.
    """
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    alg = str(header.get("alg", "")).upper()
    data = signing_input.encode("ascii")
    if alg == "NONE":
        return signing_input + "."
    if alg == "RS256":
        if rsa_key is None:
            raise ValueError("RS256 needs an RSA private key")
        signature = rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "HS256":
        if hmac_secret is None:
            raise ValueError("HS256 needs a secret")
        signature = hmac.new(hmac_secret, data, hashlib.sha256).digest()
    else:
        raise ValueError(f"unsupported alg for the emulator: {header.get('alg')!r}")
    return f"{signing_input}.{b64url(signature)}"
