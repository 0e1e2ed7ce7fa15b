"""The bearer token of a request: from the `Authorization` header and nowhere else.

RFC 6750 also allows a form body or a query parameter (`access_token`); both
leak tokens into logs, caches and browser history, so the gateway never reads
them. The scheme name is case-insensitive (RFC 7235 §2.1), so `bearer` works.
"""

from __future__ import annotations

import re

from werkzeug.datastructures import Headers

# RFC 7235 §2.1 token68.
_TOKEN68 = re.compile(r"^[A-Za-z0-9\-._~+/]+=*\Z")


class BearerProblem(Exception):
    """The header is unusable. `missing` means no bearer credentials at all (RFC 6750 §3.1:
    answer with a bare challenge, no error code)."""

    def __init__(self, reason: str, description: str, *, missing: bool = False) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description
        self.missing = missing


def bearer_token(headers: Headers, max_bytes: int) -> str:
    """The single bearer token in `Authorization`, or raise BearerProblem."""
    values = headers.getlist("Authorization")
    if not values:
        raise BearerProblem("missing_token", "No Authorization header", missing=True)
    if len(values) > 1:
        raise BearerProblem("malformed_header", "More than one Authorization header")
    raw = values[0]
    # A cheap bound before splitting: nothing this long can hold an acceptable token.
    if len(raw) > max_bytes + 16:
        raise BearerProblem("too_large", "The token is too large")
    parts = raw.split()
    if not parts or parts[0].lower() != "bearer":
        raise BearerProblem("missing_token", "Use the Bearer authentication scheme",
                            missing=True)
    if len(parts) == 1:
        raise BearerProblem("malformed_header", "The Bearer credentials are empty")
    if len(parts) > 2:
        raise BearerProblem("malformed_header", "Send exactly one bearer token")
    token = parts[1]
    if len(token) > max_bytes:
        raise BearerProblem("too_large", "The token is too large")
    if not _TOKEN68.match(token):
        raise BearerProblem("malformed", "The token is not a JWT")
    return token
