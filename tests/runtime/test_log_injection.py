"""With LOG_FORMAT=text, nothing a caller sends can forge a log line or drive a terminal.

The finding: `%0a` in the path wrote a second, forged line under gunicorn with
LOG_FORMAT=text (the JSON format escapes already). Here CR, LF, NEL, U+2028 and
ANSI escapes arrive in the path, the query string and the claims of a validly
signed token; every request must leave exactly one access line per logger, and
no line the caller wrote.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from tests.support.processes import Gunicorn

FORGED = "INFO    admin_gateway.access: [forged-0000] GET /api/v2/forged 200"


def _rid(n: int) -> str:
    return f"loginject-{n:04d}-{int(time.time() * 1000)}"


def _wait_for_access_lines(server: Gunicorn, rids: list[str]) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = server.log_text()
        if all(f"admin_gateway.access: [{rid}]" in text for rid in rids):
            return
        time.sleep(0.05)


def test_text_logs_escape_control_characters(emulator: Any,
                                             start_gunicorn: Callable[..., Gunicorn]) -> None:
    server = start_gunicorn(LOG_FORMAT="text", GUNICORN_ACCESS_LOG="-")
    tenant = emulator.tenant
    dave = quote(tenant.user_id("dave"), safe="")
    evil_sub = f"auth0|evil\r\n{FORGED}\x1b[2J\x1b]0;title\x07\u2028\x85"
    evil = tenant.issue_user_token("alice", extra_claims={
        "sub": evil_sub, tenant.department_claim: f"support\n{FORGED}"})
    alice = tenant.issue_user_token("alice")
    forged = quote("\n" + FORGED, safe="")
    requests_made: list[tuple[str, str, str | None, Any]] = [
        ("GET", f"/nope{forged}", None, None),
        ("GET", f"/api/v2/users/auth0%7Cx%0d{forged}", alice, None),
        ("GET", "/api/v2/users/%1b%5b2J%1b%5b31mred%1b%5b0m", alice, None),
        ("GET", "/api/v2/users/x%c2%85" + forged + "%e2%80%a8", alice, None),
        ("GET", f"/api/v2/users?q=name%3Ax{forged}&per_page=%0d%0a1", alice, None),
        ("GET", f"/api/v2/roles?x=%1b%5b31m{forged}", alice, None),
        ("GET", "/gateway/me", evil, None),
        ("GET", f"/api/v2/users/{dave}", evil, None),
        ("PATCH", f"/api/v2/users/{dave}", evil, {"name": "x"}),  # audited: the sub is logged
    ]
    rids = []
    for n, (method, path, token, body) in enumerate(requests_made):
        rid = _rid(n)
        rids.append(rid)
        headers = {"X-Request-ID": rid}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = requests.request(method, server.url + path, headers=headers, json=body,
                                     timeout=15)
        assert response.status_code < 500, (path, response.text)
    _wait_for_access_lines(server, rids)
    server.stop()
    text = server.log_text()

    assert "admin_gateway.audit" in text and "auth0|evil" in text  # the claim was logged
    for char in ("\r", "\x1b", "\x07", "\x85", "\u2028"):
        assert char not in text, f"{char!r} reached the log"
    lines = text.split("\n")
    for rid in rids:
        for logger in ("admin_gateway.access", "gunicorn.access"):
            mine = [line for line in lines if f"{logger}: [{rid}]" in line]
            assert len(mine) == 1, (logger, rid, mine)
    # What the caller wrote stays inside the line of the request that carried it.
    strays = [line for line in lines if "forged" in line and not any(r in line for r in rids)]
    assert strays == []
    assert not any(line.startswith(FORGED) for line in lines)
    assert "\\n" + FORGED in text  # escaped, visibly, where it arrived
