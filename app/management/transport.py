"""The Management API's HTTP transport: urllib3, one connection pool per process.

The Management client (client.py) and the budget (app/guards/budget.py) see only
`UpstreamResponse` and `TransportError`, never the HTTP library's types.

Why urllib3 and not requests: a requests call prepares the URL twice, builds
case-insensitive header dicts, looks its pool up by a key built per call and
copies the answer into a `requests.Response`; that costs about 0.2 ms of CPU per
Management call more than a connection pool's `urlopen` (bench/transport.py,
docs/benchmarks.md). The egress settings apply as they do to the requests
sessions (app/egress.py): HTTPS_PROXY unless NO_PROXY names the Auth0 host,
AUTH0_CA_BUNDLE (else certifi), verification always on, and nothing from the
host's environment.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3
from urllib3 import BaseHTTPResponse
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProxyError,
    ReadTimeoutError,
)

from config.settings import Settings

from ..egress import REQUESTS_HEADERS, egress_pool_manager


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    """One answer from Auth0, read whole."""

    status: int
    headers: Mapping[str, str]  # case-insensitive (urllib3's HTTPHeaderDict)
    body: bytes
    elapsed: float = 0.0  # seconds from sending the request to Auth0's response headers

    def json(self) -> Any:
        """The body as JSON (UTF-8, -16 or -32, as requests reads it); ValueError if not."""
        return json.loads(self.body)


class TransportError(Exception):
    """No HTTP answer. `never_sent` when not a byte of the request can have reached Auth0."""

    def __init__(self, kind: str, never_sent: bool) -> None:
        super().__init__(kind)
        self.kind = kind
        self.never_sent = never_sent

    @property
    def status(self) -> int:
        """504 when Auth0 (or the way to it) did not answer in time, else 502."""
        return 504 if self.kind.endswith("timeout") else 502


class Transport:
    """Calls to one base URL (the Management API's) through the egress settings."""

    def __init__(self, settings: Settings, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._timeout = urllib3.Timeout(connect=settings.upstream_connect_timeout,
                                        read=settings.upstream_read_timeout)
        self._manager = egress_pool_manager(settings, base_url,
                                            maxsize=settings.upstream_pool_size,
                                            timeout=self._timeout)
        self.headers: Mapping[str, str] = dict(REQUESTS_HEADERS)  # sent with every call
        self._urlopen: Callable[..., BaseHTTPResponse]
        if isinstance(self._manager, urllib3.ProxyManager):
            # The manager builds the CONNECT tunnel, or the absolute form a forward proxy
            # needs for http://, from the whole URL.
            self._urlopen = self._manager.urlopen
            self._prefix = base_url.rstrip("/")
        else:
            # Direct: the host's one pool, asked with the path alone (no lookup per call).
            self._urlopen = self._manager.connection_from_url(base_url).urlopen
            self._prefix = parts.path.rstrip("/")

    def send(self, method: str, path: str, query: list[tuple[str, str]],
             body: bytes | None, headers: Mapping[str, str]) -> UpstreamResponse:
        """One request, answered whole; raises TransportError when there is no answer.
        `path` is already percent-encoded; the query is encoded here (`+` for a space, as
        requests does). Never a retry or a redirect: the client decides."""
        target = self._prefix + path
        if query:
            target += "?" + urlencode(query)
        started = time.perf_counter()
        try:
            response = self._urlopen(method, target, body=body, headers=headers,
                                     redirect=False, retries=False, timeout=self._timeout,
                                     preload_content=False)
            elapsed = time.perf_counter() - started  # to the response headers (the budget)
            data = response.data  # read it all: the connection goes back to the pool
        except ConnectTimeoutError as exc:
            if isinstance(exc, NewConnectionError):  # refused, unreachable, no such host
                raise TransportError("connection-error", never_sent=True) from exc
            raise TransportError("connect-timeout", never_sent=True) from exc
        except ReadTimeoutError as exc:
            # The headers or the body (requests called a timeout in the body a connection
            # error, which answered 502 for what is a 504).
            raise TransportError("read-timeout", never_sent=False) from exc
        except (HTTPError, OSError) as exc:  # dropped, reset, TLS, the proxy, a bad body
            raise TransportError("connection-error", never_sent=_never_reached(exc)) from exc
        return UpstreamResponse(response.status, response.headers, data, elapsed)

    def close(self) -> None:
        """Close the pooled connections (tests; a worker's pool lives as long as it does)."""
        self._manager.clear()


def encode_json(body: Any) -> bytes:
    """A request body as requests' `json=` sends it (same bytes: ASCII, no NaN)."""
    return json.dumps(body, allow_nan=False).encode()


def _never_reached(exc: BaseException) -> bool:
    """True when the connection failed before a request byte could have been sent: no TCP
    connection to Auth0 or to the proxy (refused, unreachable, no such host)."""
    seen: BaseException | None = exc
    for _ in range(4):  # the error, the proxy's wrapped one, their causes
        if seen is None:
            return False
        if isinstance(seen, NewConnectionError | ConnectionRefusedError):
            return True
        seen = seen.original_error if isinstance(seen, ProxyError) else seen.__cause__
    return False
