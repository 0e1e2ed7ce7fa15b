"""The Management API's urllib3 transport over real loopback sockets: what it puts on the
wire (what the requests path sent before), and each way a call can fail, mapped to the
client's failure kinds (connect timeout, read timeout, never reached, dropped)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from app.catalog import BY_ID, Operation
from app.egress import egress_session
from app.errors import Problem
from app.management.client import ManagementClient
from app.management.transport import Transport, TransportError
from config.settings import Settings, TierConfig, load_settings
from tests.support.egress import TinyProxy
from tests.support.environments import valid_env

Handler = Callable[[socket.socket, "RawServer"], None]


def read_request(conn: socket.socket) -> bytes | None:
    """One HTTP/1.1 request (head and Content-Length body), or None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


class RawServer:
    """A loopback HTTP server written on sockets: `handler(conn, server)` per connection."""

    def __init__(self, handler: Handler, backlog: int = 16) -> None:
        self.handler = handler
        self.received: list[bytes] = []
        self.connections = 0
        self.stopping = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port: int = self.sock.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"

    def serve(self) -> RawServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with conn:
            self.handler(conn, self)

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (Linux)
        self.sock.close()


def answer_json(conn: socket.socket, server: RawServer) -> None:
    """Answers every request on a keep-alive connection with a small JSON body."""
    while (request := read_request(conn)) is not None:
        server.received.append(request)
        body = b'{"ok": true}'
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"x-ratelimit-remaining: 7\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))


def silent(conn: socket.socket, server: RawServer) -> None:
    server.received.append(read_request(conn) or b"")
    server.stopping.wait(5)


def headers_then_silent(conn: socket.socket, server: RawServer) -> None:
    server.received.append(read_request(conn) or b"")
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"partial\": ")
    server.stopping.wait(5)


def drop(conn: socket.socket, server: RawServer) -> None:
    server.received.append(read_request(conn) or b"")  # read, then close without a word


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Handler, backlog: int = 16) -> RawServer:
        server = RawServer(handler, backlog).serve()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def settings_for(server: RawServer, **env: str) -> Settings:
    return load_settings(valid_env(AUTH0_DOMAIN=f"127.0.0.1:{server.port}", AUTH0_SCHEME="http",
                                   UPSTREAM_CONNECT_TIMEOUT_SECONDS="0.3",
                                   UPSTREAM_READ_TIMEOUT_SECONDS="0.3", **env))


class StaticToken:
    def get_token(self, tier: TierConfig) -> str:
        return "management-token"

    def invalidate(self, tier: TierConfig, token: str) -> None:
        return None


def parse(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    line, *fields = head.decode("latin-1").split("\r\n")
    headers = {}
    for field in fields:
        name, _, value = field.partition(":")
        headers[name.strip().lower()] = value.strip()
    return line, headers, body


CALLS: list[tuple[str, str, list[tuple[str, str]], Any]] = [
    ("get_users", "/users", [("q", 'name:"Jos\u00e9 B*" AND email:*@example.com'),
                             ("per_page", "10"), ("fields", "user_id,name")], None),
    ("patch_users_by_id", "/users/auth0%7C1", [], {"name": "Zo\u00eb", "user_metadata": {}}),
    ("post_password-change", "/tickets/password-change", [], {}),
    ("delete_user_roles", "/users/auth0%7C1/roles", [], {"roles": ["rol_1"]}),
    ("delete_users_by_id", "/users/auth0%7C1", [], None),
]


@pytest.mark.parametrize(("operation_id", "path", "query", "body"), CALLS,
                         ids=[c[0] for c in CALLS])
def test_the_wire_is_what_the_requests_path_sent(
        raw_server: Callable[..., RawServer], operation_id: str, path: str,
        query: list[tuple[str, str]], body: Any) -> None:
    server = raw_server(answer_json)
    settings = settings_for(server)
    operation = BY_ID[operation_id]
    # Before: app/management/client.py on requests (its _attempt, verbatim in substance).
    session = egress_session(settings, pool_connections=4, pool_maxsize=32)
    url = settings.management_url + path
    headers = {**session.headers, "Authorization": "Bearer management-token",
               "Accept": "application/json"}
    prepared = requests.Request(operation.method, url, params=query, json=body,
                                headers=headers).prepare()
    session.get_adapter(url).send(prepared, timeout=(1, 1)).close()
    # Now: the client on urllib3.
    client = ManagementClient(settings, StaticToken())
    result = client.call(operation, settings.tiers[0], path, query, body)
    assert result.status == 200 and result.body == {"ok": True}

    before, after = (parse(raw) for raw in server.received)
    assert after[0] == before[0]  # method, path, query string byte for byte
    assert after[2] == before[2]  # the JSON body byte for byte
    expected = dict(before[1])
    expected.pop("connection")  # "keep-alive": HTTP/1.1's default, urllib3 leaves it out
    if operation.method == "DELETE" and body is None:
        expected.pop("content-length")  # requests' "0" for a body-less DELETE; none now
    assert after[1] == expected


def test_answers_keep_the_connection_and_carry_headers_case_insensitively(
        raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(answer_json)
    transport = Transport(settings_for(server), server.origin + "/api/v2")
    answers = [transport.send("GET", "/roles", [], None, {}) for _ in range(3)]
    assert server.connections == 1  # pooled: one keep-alive connection for all three
    assert [a.status for a in answers] == [200] * 3
    assert answers[0].headers["X-RateLimit-Remaining"] == "7"
    assert answers[0].json() == {"ok": True} and answers[0].elapsed > 0
    transport.close()


def _failure(server_origin: str, settings: Settings) -> TransportError:
    transport = Transport(settings, server_origin + "/api/v2")
    with pytest.raises(TransportError) as caught:
        transport.send("POST", "/users", [], b"{}", {"Content-Type": "application/json"})
    return caught.value


def test_plain_http_goes_through_a_forward_proxy_with_its_credentials(
        raw_server: Callable[..., RawServer], tmp_path: Path) -> None:
    """AUTH0_SCHEME=http (the emulator) through HTTPS_PROXY: the absolute-form request a
    forward proxy needs, with Proxy-Authorization (tinyproxy answers 407 without it); the
    proxy forwards the request and keeps the credentials to itself."""
    server = raw_server(answer_json)
    with TinyProxy(tmp_path / "proxy", credentials=("gateway", "pr0xy-pa55")) as proxy:
        transport = Transport(settings_for(server, HTTPS_PROXY=proxy.url),
                              server.origin + "/api/v2")
        answer = transport.send("GET", "/roles", [("per_page", "5")], None, {})
    assert answer.status == 200 and answer.json() == {"ok": True}
    line, headers, _ = parse(server.received[0])
    assert line == "GET /api/v2/roles?per_page=5 HTTP/1.1"  # the proxy's origin form
    assert "proxy-authorization" not in headers  # used by the proxy, not passed on


def test_connection_refused_never_reached_auth0() -> None:
    server = RawServer(answer_json)
    server.stop()  # never served: the port refuses
    error = _failure(server.origin, settings_for(server))
    assert (error.kind, error.never_sent, error.status) == ("connection-error", True, 502)


def test_a_proxy_that_refuses_connections_means_never_reached(
        raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(answer_json)
    dead = RawServer(answer_json)
    dead.stop()
    error = _failure(server.origin, settings_for(server, HTTPS_PROXY=dead.origin))
    assert (error.kind, error.never_sent, error.status) == ("connection-error", True, 502)
    assert not server.received


def test_connect_timeout_never_reached_auth0(raw_server: Callable[..., RawServer]) -> None:
    # A listener that never accepts, its backlog (0 on Linux: one connection) already full:
    # the kernel drops the next SYN, so connecting times out.
    server = RawServer(answer_json, backlog=0)
    blocker = socket.create_connection(("127.0.0.1", server.port), timeout=1)
    try:
        started = time.monotonic()
        error = _failure(server.origin, settings_for(server))
        assert (error.kind, error.never_sent, error.status) == ("connect-timeout", True, 504)
        assert time.monotonic() - started < 2
    finally:
        blocker.close()
        server.stop()


def test_no_answer_is_a_read_timeout_that_may_have_applied(
        raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(silent)
    error = _failure(server.origin, settings_for(server))
    assert (error.kind, error.never_sent, error.status) == ("read-timeout", False, 504)
    assert server.received and server.received[0].startswith(b"POST /api/v2/users ")


def test_a_body_that_stops_arriving_is_a_read_timeout(
        raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(headers_then_silent)
    error = _failure(server.origin, settings_for(server))
    assert (error.kind, error.never_sent, error.status) == ("read-timeout", False, 504)


def test_a_dropped_connection_may_have_applied(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(drop)
    error = _failure(server.origin, settings_for(server))
    assert (error.kind, error.never_sent, error.status) == ("connection-error", False, 502)


def test_the_client_retries_a_write_only_when_it_never_left(
        raw_server: Callable[..., RawServer]) -> None:
    """A POST that reached a server that dropped it is sent once; the client's 502."""
    server = raw_server(drop)
    settings = settings_for(server)
    client = ManagementClient(settings, StaticToken())
    operation: Operation = BY_ID["post_users"]
    with pytest.raises(Problem) as caught:
        client.call(operation, settings.tiers[1], "/users", [], {"email": "a@example.com"})
    assert caught.value.code == 502
    time.sleep(0.1)
    assert len(server.received) == 1
    # A read that was dropped is sent once more.
    read = raw_server(drop)
    settings = settings_for(read)
    with pytest.raises(Problem):
        ManagementClient(settings, StaticToken()).call(BY_ID["get_roles"], settings.tiers[0],
                                                       "/roles", [], None)
    time.sleep(0.1)
    assert len(read.received) == 2


def _answer(status_line: bytes, body: bytes, content_type: bytes) -> Handler:
    def handler(conn: socket.socket, server: RawServer) -> None:
        while (request := read_request(conn)) is not None:
            server.received.append(request)
            conn.sendall(b"HTTP/1.1 %s\r\nContent-Type: %s\r\nLocation: /elsewhere\r\n"
                         b"Content-Length: %d\r\n\r\n%s"
                         % (status_line, content_type, len(body), body))
    return handler


@pytest.mark.parametrize(("status_line", "body", "content_type"), [
    (b"308 Permanent Redirect", b"<html>moved</html>", b"text/html"),
    (b"200 OK", b"<html>not json</html>", b"text/html"),
], ids=["redirect", "not-json"])
def test_an_answer_that_is_not_auth0s_json_is_a_502(
        raw_server: Callable[..., RawServer], status_line: bytes, body: bytes,
        content_type: bytes) -> None:
    """Never passed on as a success, never a 500: a redirect (e.g. a path with an empty
    segment) or a body that is not JSON is Auth0 failing to answer."""
    server = raw_server(_answer(status_line, body, content_type))
    settings = settings_for(server)
    with pytest.raises(Problem) as caught:
        ManagementClient(settings, StaticToken()).call(BY_ID["get_roles"], settings.tiers[0],
                                                       "/roles", [], None)
    assert caught.value.code == 502
    assert caught.value.type.endswith("/upstream-error")
