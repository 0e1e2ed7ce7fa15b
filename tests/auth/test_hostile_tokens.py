"""Hostile input never crashes verification: every mangled token is accepted or a TokenRejected.

A seeded random walk over three kinds of damage: flipped characters in a valid
token, odd values in each header member, odd values in each claim (validly
signed, so the claim checks themselves are exercised), plus random segments.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from app.auth import TokenRejected
from app.auth.extension import Authenticator
from app.policy_format import load as load_policy
from tests.support.tokens import b64url

ODD_VALUES: list[Any] = [None, 1, 1.5, "x", "", [], {}, ["a"], {"a": 1}, True, -1, 10**30,
                         1e308, "RS256", "JWT", "none"]


def mangled_tokens(tenant: Any, count: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    good = tenant.issue_user_token("alice")
    tokens = []
    for _ in range(count):
        kind = rnd.randrange(4)
        if kind == 0:
            chars = list(good)
            for _ in range(rnd.randrange(1, 4)):
                chars[rnd.randrange(len(chars))] = rnd.choice("ABCxyz019-_.=+/~")
            tokens.append("".join(chars))
        elif kind == 1:
            header = {"alg": "RS256", "typ": "JWT", "kid": tenant.keys.current_kid}
            member, value = rnd.choice(["alg", "typ", "kid", "cty", "x5t", "b64", "zip"]), \
                rnd.choice(ODD_VALUES)
            if value is None:
                header.pop(member, None)  # and a missing member
            else:
                header[member] = value
            tokens.append(b64url(json.dumps(header).encode()) + "." + good.split(".", 1)[1])
        elif kind == 2:
            claims = {"iss": tenant.issuer, "sub": "auth0|x", "aud": tenant.gateway_audience,
                      "exp": 2**31, "permissions": ["users:read"],
                      tenant.roles_claim: ["Support Reader"]}
            name = rnd.choice(["iss", "sub", "aud", "exp", "nbf", "iat", "permissions", "scope",
                               "azp", "client_id", "org_id", tenant.roles_claim,
                               tenant.department_claim])
            claims[name] = rnd.choice(ODD_VALUES)
            tokens.append(tenant.sign(claims))
        else:
            tokens.append(".".join(
                b64url(rnd.randbytes(rnd.randrange(0, 30)))
                for _ in range(rnd.choice([1, 2, 3, 3, 3, 4]))))
    return tokens


@pytest.mark.parametrize("seed", [1, 2])
def test_mangled_tokens_are_rejected_cleanly(make_settings: Any, tenant: Any, seed: int) -> None:
    settings = make_settings(VERIFIED_TOKEN_CACHE_SECONDS="0")
    auth = Authenticator(settings, load_policy(settings.policy_file))
    accepted = 0
    for token in mangled_tokens(tenant, 300, seed):
        try:
            principal = auth.authenticate(token)
        except TokenRejected as exc:
            assert exc.reason and exc.description
        else:
            accepted += 1
            assert principal.permissions <= {  # Support Reader's, at most
                "users:read", "roles:read", "users:roles:read", "users:logs:read",
                "users:mfa:read", "users:sessions:read", "roles:users:read", "orgs:read"}
    assert accepted < 300
