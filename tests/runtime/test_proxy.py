"""A real nginx (TLS) in front of real gunicorn: which client address and scheme
the gateway sees, with and without trusted proxy hops.

The client connects from 127.0.0.2, nginx reaches gunicorn from 127.0.0.3, and
the client forges `X-Forwarded-For: 203.0.113.9`. The gateway's access log
(JSON, `remote_addr` and `scheme`) shows what it believed.
"""

from __future__ import annotations

import http.client
import ssl
import uuid
from collections.abc import Callable

import pytest
import requests

from tests.support.processes import Gunicorn, Nginx, require_program

CLIENT, PROXY, FORGED = "127.0.0.2", "127.0.0.3", "203.0.113.9"


def _via_nginx(nginx: Nginx, request_id: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPSConnection(
        "127.0.0.1", nginx.port, timeout=10, source_address=(CLIENT, 0),
        context=ssl._create_unverified_context())  # the test's throwaway certificate
    connection.request("GET", "/healthz", headers={
        "X-Request-ID": request_id, "X-Forwarded-For": FORGED, "X-Forwarded-Proto": "http"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


@pytest.mark.parametrize("hops, remote_addr, scheme", [
    ("1", CLIENT, "https"),
    ("0", PROXY, "http"),
], ids=["one-trusted-hop", "no-trusted-hop"])
def test_client_address_and_scheme_behind_nginx(start_gunicorn: Callable[..., Gunicorn],
                                                hops: str, remote_addr: str, scheme: str
                                                ) -> None:
    require_program("nginx")
    server = start_gunicorn(workers=1, PROXY_FIX_X_FOR=hops, PROXY_FIX_X_PROTO=hops)
    with Nginx(server.port, proxy_address=PROXY) as nginx:
        request_id = f"test-{uuid.uuid4().hex}"
        response = _via_nginx(nginx, request_id)
        assert response.status == 200
        entry = server.access_entry(request_id)
    # The forged left-most X-Forwarded-For entry is never believed.
    assert entry["remote_addr"] == remote_addr
    assert entry["scheme"] == scheme
    assert (response.getheader("Strict-Transport-Security") is not None) == (scheme == "https")


def test_forged_forwarded_headers_are_ignored_without_a_proxy(
        start_gunicorn: Callable[..., Gunicorn]) -> None:
    server = start_gunicorn(workers=1)  # PROXY_FIX_* default to 0
    request_id = f"test-{uuid.uuid4().hex}"
    response = requests.get(server.url + "/healthz", timeout=5, headers={
        "X-Request-ID": request_id, "X-Forwarded-For": FORGED, "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example.com"})
    entry = server.access_entry(request_id)
    assert entry["remote_addr"] == "127.0.0.1"
    # gunicorn's own X-Forwarded-Proto trust (127.0.0.1 by default) is off too.
    assert entry["scheme"] == "http"
    assert "Strict-Transport-Security" not in response.headers
