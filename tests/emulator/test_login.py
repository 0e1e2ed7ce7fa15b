"""The admin panel's login: /authorize, the login page, code + PKCE at /oauth/token,
silent authentication (prompt=none, web_message), /userinfo, /v2/logout and CORS."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from emulator.server import EmulatorServer
from emulator.tenant import Tenant

PANEL = "http://127.0.0.1:5999"  # never contacted: redirects are read, not followed
OTHER_ORIGIN = "http://127.0.0.1:6666"


def challenge_of(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()
                                    ).rstrip(b"=").decode()


@dataclass
class Flow:
    """One browser: its cookies, and the PKCE values of its authorization request."""

    emu: EmulatorServer
    session: requests.Session = field(default_factory=requests.Session)
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def params(self, **overrides: str | None) -> dict[str, str]:
        t = self.emu.tenant
        params: dict[str, str | None] = {
            "client_id": t.panel_client_id, "redirect_uri": PANEL, "response_type": "code",
            "response_mode": "query", "scope": "openid profile email",
            "audience": t.gateway_audience, "state": self.state, "nonce": self.nonce,
            "code_challenge": challenge_of(self.verifier), "code_challenge_method": "S256",
            "auth0Client": base64.b64encode(b'{"name":"auth0-react","version":"2"}').decode(),
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, **overrides: str | None) -> requests.Response:
        return self.session.get(self.emu.url + "/authorize", params=self.params(**overrides),
                                allow_redirects=False, timeout=5)

    def login(self, user: str = "alice", **overrides: str | None) -> dict[str, list[str]]:
        # prompt=login: the login page even when this browser has a session already.
        page = self.authorize(**{"prompt": "login", **overrides})
        assert page.status_code == 200, page.text
        transaction = re.search(r'name="transaction" value="([^"]+)"', page.text)
        assert transaction is not None
        response = self.session.post(self.emu.url + "/login", allow_redirects=False, timeout=5,
                                     data={"transaction": transaction.group(1), "user": user})
        assert response.status_code == 302, response.text
        return redirected_query(response, PANEL)

    def code(self, user: str = "alice") -> str:
        return self.login(user)["code"][0]

    def exchange(self, code: str | None, **overrides: str | None) -> requests.Response:
        body: dict[str, str | None] = {
            "grant_type": "authorization_code", "client_id": self.emu.tenant.panel_client_id,
            "code": code, "code_verifier": self.verifier, "redirect_uri": PANEL,
        }
        body.update(overrides)
        return requests.post(self.emu.url + "/oauth/token", timeout=5,
                             data={k: v for k, v in body.items() if v is not None},
                             headers={"Origin": PANEL, "Auth0-Client": "eyJ9"})


def redirected_query(response: requests.Response, target: str) -> dict[str, list[str]]:
    location = response.headers["Location"]
    assert location.split("?")[0] == target
    return parse_qs(urlsplit(location).query)


@pytest.fixture
def flow(emu: EmulatorServer) -> Flow:
    emu.tenant.allow_panel_origin(PANEL)
    return Flow(emu)


@pytest.fixture
def new_flow(emu: EmulatorServer) -> Callable[[], Flow]:
    emu.tenant.allow_panel_origin(PANEL)
    return lambda: Flow(emu)


def verified(emu: EmulatorServer, token: str, audience: str) -> dict[str, Any]:
    key = jwt.PyJWKClient(emu.url + "/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(token, key.key, algorithms=["RS256"], audience=audience,
                                        issuer=emu.tenant.issuer)
    return claims


@pytest.mark.readonly_tenant
def test_login_page_lists_the_demo_users(flow: Flow) -> None:
    page = flow.authorize()
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    for alias in ("alice", "bob", "carol", "dave", "erin"):
        assert f'value="{alias}"' in page.text
    assert "Support Reader" in page.text and "Support Editor" in page.text
    # Nothing on the page is loaded from anywhere (no CDN, no fonts).
    assert not re.search(r'(src|href)="https?://', page.text)


@pytest.mark.readonly_tenant
def test_code_flow_with_pkce_issues_tokens_for_the_chosen_user(flow: Flow) -> None:
    t = flow.emu.tenant
    query = flow.login("bob")
    assert query["state"] == [flow.state]
    response = flow.exchange(query["code"][0])
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "id_token", "scope", "expires_in", "token_type"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 7200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Access-Control-Allow-Origin"] == PANEL
    access = verified(flow.emu, body["access_token"], t.gateway_audience)
    assert access["sub"] == t.user_id("bob")
    assert access["azp"] == t.panel_client_id
    assert "users:block" in access["permissions"]
    assert access[t.roles_claim] == ["Support Editor"]
    assert access[t.department_claim] == "support"
    identity = verified(flow.emu, body["id_token"], t.panel_client_id)
    assert identity["nonce"] == flow.nonce
    assert identity["sub"] == t.user_id("bob")
    assert identity["name"] == "Bob Brown" and identity["email_verified"] in (True, False)
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "RS256"


@pytest.mark.readonly_tenant
def test_plain_pkce_method_is_verified_too(flow: Flow) -> None:
    query = flow.login(code_challenge=flow.verifier, code_challenge_method="plain")
    assert flow.exchange(query["code"][0]).status_code == 200


@pytest.mark.readonly_tenant
@pytest.mark.parametrize(("change", "status", "error", "description"), [
    ({"code_verifier": "x" * 43}, 403, "invalid_grant", "Failed to verify code verifier"),
    ({"code_verifier": "short"}, 403, "invalid_grant", "Failed to verify code verifier"),
    ({"code_verifier": None}, 403, "invalid_grant", "Parameter 'code_verifier' is required"),
    ({"redirect_uri": PANEL + "/evil"}, 403, "invalid_grant", "Invalid authorization code"),
    ({"redirect_uri": None}, 403, "invalid_grant", "Invalid authorization code"),
    ({"code": "not-a-code"}, 403, "invalid_grant", "Invalid authorization code"),
    ({"code": None}, 400, "invalid_request", "Missing required parameter: code"),
    ({"client_id": "no-such-client"}, 401, "access_denied", "Unauthorized"),
    ({"grant_type": "refresh_token"}, 403, "unauthorized_client",
     "Grant type 'refresh_token' not allowed for the client."),
], ids=["wrong-verifier", "malformed-verifier", "no-verifier", "other-redirect-uri",
        "no-redirect-uri", "unknown-code", "no-code", "unknown-client", "refresh-token-grant"])
def test_code_exchange_rejections(flow: Flow, change: dict[str, str | None], status: int,
                                  error: str, description: str) -> None:
    change = dict(change)
    code = change.pop("code") if "code" in change else flow.code()
    response = flow.exchange(code, **change)
    assert response.status_code == status, response.text
    assert response.json() == {"error": error, "error_description": description}


@pytest.mark.readonly_tenant
def test_a_code_works_once_even_after_a_failed_attempt(flow: Flow) -> None:
    code = flow.code()
    assert flow.exchange(code).status_code == 200
    reused = flow.exchange(code)
    assert reused.status_code == 403
    assert reused.json()["error_description"] == "Invalid authorization code"
    failed_first = flow.code()
    assert flow.exchange(failed_first, code_verifier="y" * 43).status_code == 403
    assert flow.exchange(failed_first).status_code == 403


@pytest.mark.readonly_tenant
def test_a_code_is_bound_to_its_client(flow: Flow) -> None:
    t = flow.emu.tenant
    from emulator.login import SpaApplication

    other = SpaApplication("anotherSpa", "Another SPA")
    other.allow_origin(PANEL)
    t.spa_clients["anotherSpa"] = other
    try:
        response = flow.exchange(flow.code(), client_id="anotherSpa")
    finally:
        del t.spa_clients["anotherSpa"]
    assert response.status_code == 403
    assert response.json()["error_description"] == "Invalid authorization code"


@pytest.mark.readonly_tenant
@pytest.mark.parametrize(("change", "shown"), [
    ({"client_id": "nope"}, "Unknown client: nope"),
    ({"client_id": None}, "Unknown client"),
    ({"redirect_uri": "https://evil.example/cb"}, "Callback URL mismatch"),
    ({"redirect_uri": None}, "Callback URL mismatch"),
    ({"response_mode": "form_post"}, "Unsupported response_mode"),
], ids=["unknown-client", "no-client", "foreign-redirect", "no-redirect", "form-post"])
def test_authorize_never_redirects_to_an_untrusted_place(flow: Flow,
                                                         change: dict[str, str | None],
                                                         shown: str) -> None:
    response = flow.authorize(**change)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert shown in response.text


@pytest.mark.readonly_tenant
@pytest.mark.parametrize(("change", "error", "description"), [
    ({"code_challenge": None}, "invalid_request", "Parameter 'code_challenge' is required"),
    ({"code_challenge_method": "S512"}, "invalid_request",
     "Unsupported code_challenge_method: S512"),
    ({"response_type": "token"}, "unsupported_response_type", "Unsupported response type: token"),
    ({"audience": "https://other.example/api"}, "access_denied",
     "Service not found: https://other.example/api"),
    ({"prompt": "none"}, "login_required", "Login required"),
], ids=["no-pkce", "unknown-pkce-method", "implicit", "unknown-audience", "prompt-none-no-session"])
def test_authorize_errors_go_back_to_the_application(flow: Flow, change: dict[str, str | None],
                                                     error: str, description: str) -> None:
    response = flow.authorize(**change)
    assert response.status_code == 302
    query = redirected_query(response, PANEL)
    assert query == {"error": [error], "error_description": [description], "state": [flow.state]}


def _posted_message(page: requests.Response) -> tuple[dict[str, Any], str]:
    found = re.search(r'response: (\{.*?\})\},\s*("[^"]*")\);', page.text, re.S)
    assert found is not None, page.text
    return json.loads(found.group(1)), json.loads(found.group(2))


@pytest.mark.readonly_tenant
def test_silent_authentication_answers_with_a_web_message(flow: Flow) -> None:
    flow.login("alice")
    silent = flow.authorize(prompt="none", response_mode="web_message", state="s2")
    assert silent.status_code == 200
    assert f"frame-ancestors {PANEL}" in silent.headers["Content-Security-Policy"]
    message, target = _posted_message(silent)
    assert target == PANEL
    assert message["state"] == "s2"
    body = flow.exchange(message["code"]).json()
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["sub"] == \
        flow.emu.tenant.user_id("alice")


@pytest.mark.readonly_tenant
def test_silent_authentication_without_a_session_says_login_required(flow: Flow) -> None:
    silent = flow.authorize(prompt="none", response_mode="web_message")
    message, _ = _posted_message(silent)
    assert message == {"error": "login_required", "error_description": "Login required",
                       "state": flow.state}


@pytest.mark.readonly_tenant
def test_an_existing_session_is_single_sign_on_unless_prompt_login(flow: Flow) -> None:
    flow.login("carol")
    again = flow.authorize()
    assert again.status_code == 302 and "code=" in again.headers["Location"]
    assert flow.authorize(prompt="login").status_code == 200  # the login page


@pytest.mark.readonly_tenant
def test_logout_ends_the_session_and_returns_to_an_allowed_url(flow: Flow) -> None:
    flow.login("alice")
    t = flow.emu.tenant
    out = flow.session.get(flow.emu.url + "/v2/logout", allow_redirects=False, timeout=5,
                           params={"client_id": t.panel_client_id, "returnTo": PANEL})
    assert out.status_code == 302 and out.headers["Location"] == PANEL
    flow.session.cookies.clear()
    # The old cookie no longer names a session, even if a browser kept it.
    silent = flow.authorize(prompt="none")
    assert redirected_query(silent, PANEL)["error"] == ["login_required"]


@pytest.mark.readonly_tenant
def test_logout_refuses_a_return_url_that_is_not_allowed(flow: Flow) -> None:
    out = requests.get(flow.emu.url + "/v2/logout", allow_redirects=False, timeout=5,
                       params={"returnTo": "https://evil.example/"})
    assert out.status_code == 400 and "Location" not in out.headers
    assert "Allowed Logout URLs" in out.text


@pytest.mark.readonly_tenant
def test_logout_with_a_session_cookie_that_is_gone_is_harmless(flow: Flow) -> None:
    flow.login("alice")
    flow.session.get(flow.emu.url + "/v2/logout", timeout=5)
    assert flow.session.get(flow.emu.url + "/v2/logout", timeout=5).status_code == 200


@pytest.mark.readonly_tenant
def test_userinfo_returns_the_users_claims(flow: Flow) -> None:
    token = flow.exchange(flow.code("dave")).json()["access_token"]
    response = requests.get(flow.emu.url + "/userinfo", timeout=5,
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    claims = response.json()
    assert claims["sub"] == flow.emu.tenant.user_id("dave")
    assert claims["name"] == "Dave Diaz" and "email" in claims


@pytest.mark.readonly_tenant
@pytest.mark.parametrize("header", ["", "Bearer ", "Bearer not.a.jwt", "Basic abc"],
                         ids=["none", "empty", "garbage", "basic"])
def test_userinfo_refuses_bad_tokens(emu: EmulatorServer, header: str) -> None:
    response = requests.get(emu.url + "/userinfo", headers={"Authorization": header}, timeout=5)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.readonly_tenant
def test_userinfo_refuses_a_token_without_its_audience(emu: EmulatorServer) -> None:
    t: Tenant = emu.tenant
    token = t.issue_user_token("alice", audience=t.gateway_audience)
    response = requests.get(emu.url + "/userinfo", timeout=5,
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


@pytest.mark.readonly_tenant
@pytest.mark.parametrize("path", ["/oauth/token", "/userinfo"])
def test_cors_preflight_allows_the_panel_origin_only(flow: Flow, path: str) -> None:
    def preflight(origin: str) -> requests.Response:
        return requests.options(flow.emu.url + path, timeout=5, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "auth0-client,content-type,x-evil"})

    allowed = preflight(PANEL)
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == PANEL
    asked = {h.strip() for h in allowed.headers["Access-Control-Allow-Headers"].split(",")}
    assert asked == {"auth0-client", "content-type"}
    refused = preflight(OTHER_ORIGIN)
    assert "Access-Control-Allow-Origin" not in refused.headers


@pytest.mark.readonly_tenant
def test_token_errors_carry_cors_headers_for_the_panel(flow: Flow) -> None:
    # The SDK must be able to read the error body to show it.
    response = flow.exchange("bogus")
    assert response.status_code == 403
    assert response.headers["Access-Control-Allow-Origin"] == PANEL
    other = requests.post(flow.emu.url + "/oauth/token", data={"grant_type": "x"}, timeout=5,
                          headers={"Origin": OTHER_ORIGIN})
    assert "Access-Control-Allow-Origin" not in other.headers


@pytest.mark.readonly_tenant
def test_client_credentials_still_need_the_secret(emu: EmulatorServer) -> None:
    """The public-client path is only for SPA applications."""
    response = requests.post(emu.url + "/oauth/token", timeout=5, data={
        "grant_type": "client_credentials", "client_id": "gateway-read",
        "audience": emu.tenant.management_audience})
    assert response.status_code == 401
