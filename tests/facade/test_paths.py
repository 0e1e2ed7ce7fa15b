"""Path parameters can never change which upstream path is called."""

from __future__ import annotations

import socket

import pytest

from tests.support.stack import Stack

# Sent raw (no client-side normalisation) so the gateway sees exactly these bytes.
ATTACKS = [
    ("dot-dot", "/api/v2/users/.."),
    ("dot-dot-roles", "/api/v2/users/../roles"),
    ("dot", "/api/v2/users/."),
    ("encoded-slash", "/api/v2/users/auth0%7C1%2F..%2F..%2Fclients"),
    ("encoded-dot-dot", "/api/v2/users/%2E%2E"),
    ("double-encoded-slash", "/api/v2/users/a%252Fb"),
    ("nul", "/api/v2/users/auth0%7C1%00"),
    ("newline", "/api/v2/users/auth0%7C1%0d%0aX-Injected:%201"),
    ("trailing-newline", "/api/v2/users/auth0%7C1%0a"),
    ("question-mark", "/api/v2/users/auth0%7C1%3Ffields=password"),
    ("hash", "/api/v2/users/auth0%7C1%23frag"),
    ("backslash", "/api/v2/users/a%5C..%5Cclients"),
    ("space", "/api/v2/users/a%20b"),
    ("other-api", "/api/v2/clients"),
    ("prefix-trick", "/api/v2/users/x/../../clients"),
]


def raw_get(url: str, path: str, token: str) -> int:
    """An HTTP/1.1 GET with the path exactly as given; returns the status code."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                     f"Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize("path", [p for _, p in ATTACKS], ids=[i for i, _ in ATTACKS])
def test_path_attack_never_reaches_another_upstream_path(stack: Stack, path: str) -> None:
    status = raw_get(stack.gateway.url, path, stack.token("carol"))
    assert status in (400, 404), status
    for entry in stack.upstream():
        # Whatever was sent went to a user route with a single encoded segment.
        assert (entry.method, entry.route) == ("GET", "/api/v2/users/{id}"), entry.raw_path
        assert entry.raw_path.count("/") == 4, entry.raw_path


def test_pipe_in_user_id_stays_one_segment(stack: Stack) -> None:
    user = stack.user("alice")
    response = stack.call("alice", "GET", f"/api/v2/users/{user}")
    assert response.status_code == 200
    (entry,) = stack.upstream()
    assert entry.raw_path.split("?")[0] == "/api/v2/users/" + user.replace("|", "%7C")
    assert entry.params == {"id": user}
