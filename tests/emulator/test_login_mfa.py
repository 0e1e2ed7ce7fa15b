"""The emulator's simulated second factor and step-up login: the login page's MFA checkbox,
the claims a post-login Action would add (auth_time, acr, amr), and `acr_values` /
`max_age` forcing a new login instead of single sign-on (RFC 9470, OIDC Core §3.1.2.1)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from emulator.login import MFA_ACR
from emulator.server import EmulatorServer

PANEL = "http://127.0.0.1:5998"  # never contacted


class Browser:
    def __init__(self, emu: EmulatorServer) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.verifier = secrets.token_urlsafe(48)

    def authorize(self, **extra: str) -> requests.Response:
        t = self.emu.tenant
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        params = {"client_id": t.panel_client_id, "redirect_uri": PANEL,
                  "response_type": "code", "scope": "openid profile email",
                  "audience": t.gateway_audience, "state": "s", "code_challenge": challenge,
                  "code_challenge_method": "S256", **extra}
        return self.session.get(self.emu.url + "/authorize", params=params,
                                allow_redirects=False, timeout=5)

    def login(self, user: str, *, mfa: bool, **extra: str) -> requests.Response:
        page = self.authorize(**extra)
        assert page.status_code == 200, page.text
        found = re.search(r'name="transaction" value="([^"]+)"', page.text)
        assert found is not None
        form = {"transaction": found.group(1), "user": user, **({"mfa": "1"} if mfa else {})}
        return self.session.post(self.emu.url + "/login", data=form, allow_redirects=False,
                                 timeout=5)

    def access_claims(self, redirect: requests.Response) -> dict[str, Any]:
        assert redirect.status_code == 302, redirect.text
        code = parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]
        t = self.emu.tenant
        answer = requests.post(self.emu.url + "/oauth/token", timeout=5, data={
            "grant_type": "authorization_code", "client_id": t.panel_client_id, "code": code,
            "code_verifier": self.verifier, "redirect_uri": PANEL})
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        key = jwt.PyJWKClient(self.emu.url + "/.well-known/jwks.json"
                              ).get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(token, key.key, algorithms=["RS256"],
                                            audience=t.gateway_audience, issuer=t.issuer)
        return claims


@pytest.fixture
def browser(emu: EmulatorServer) -> Browser:
    emu.tenant.allow_panel_origin(PANEL)
    return Browser(emu)


def test_the_login_page_offers_a_second_factor(browser: Browser) -> None:
    page = browser.authorize(prompt="login")
    assert 'name="mfa"' in page.text and " checked" not in page.text
    asked = browser.authorize(prompt="login", acr_values=MFA_ACR)
    assert "with a second factor" in asked.text and " checked" in asked.text


@pytest.mark.parametrize(("mfa", "amr"), [(True, ["pwd", "mfa"]), (False, ["pwd"])])
def test_the_access_token_says_when_and_how_the_user_logged_in(browser: Browser, mfa: bool,
                                                                amr: list[str]) -> None:
    t = browser.emu.tenant
    before = int(time.time())
    claims = browser.access_claims(browser.login("carol", mfa=mfa, prompt="login"))
    assert claims[t.amr_claim] == amr
    assert before <= claims[t.auth_time_claim] <= int(time.time())
    assert claims.get(t.acr_claim) == (MFA_ACR if mfa else None)


def test_acr_values_and_max_age_force_a_new_login(browser: Browser) -> None:
    browser.access_claims(browser.login("carol", mfa=False, prompt="login"))
    # A password-only session is single sign-on for ordinary requests...
    assert browser.authorize().status_code == 302
    # ...but not when MFA is asked for: the login page again, or login_required silently.
    assert browser.authorize(acr_values=MFA_ACR).status_code == 200
    silent = browser.authorize(acr_values=MFA_ACR, prompt="none")
    assert parse_qs(urlsplit(silent.headers["Location"]).query)["error"] == ["login_required"]
    stepped = browser.access_claims(browser.login("carol", mfa=True, acr_values=MFA_ACR))
    assert "mfa" in stepped[browser.emu.tenant.amr_claim]
    # An MFA session answers acr_values silently, until it is older than max_age.
    assert browser.authorize(acr_values=MFA_ACR, prompt="none").status_code == 302
    time.sleep(1.1)
    assert browser.authorize(max_age="0").status_code == 200
    assert browser.authorize(max_age="abc").status_code == 302  # an error for the app
