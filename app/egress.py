"""Egress to Auth0: one forward proxy and one CA bundle for every outbound call.

Enterprises reach Auth0 through an HTTPS forward proxy (often TLS-inspecting,
with a private CA). Every session the gateway opens towards Auth0 — JWKS,
`/oauth/token`, the Management API, `admin-gateway tenant ...` — mounts
`EgressAdapter`, so they all honour the same settings:

- `HTTPS_PROXY`: the proxy URL (`http://host:port`, credentials allowed), used for
  https and http targets alike; empty: direct connections;
- `NO_PROXY`: hosts reached directly (exact host, `.suffix` or `suffix`, `host:port`,
  an IP network in CIDR, or `*`);
- `AUTH0_CA_BUNDLE`: a PEM file of the CAs that verify the certificates we are
  shown (Auth0's, or the inspecting proxy's); replaces the default (certifi) set
  for these calls only. The host's trust store is neither read nor changed.

Nothing else from the host's environment is used: sessions keep `trust_env`
off, so a stray `REQUESTS_CA_BUNDLE`, lowercase `https_proxy` or `.netrc` cannot
change where credentials go. The adapter decides per request (not
`Session.request`), so that no caller can pass proxies or `verify` around it.

The Management API's calls go through urllib3 directly (`egress_pool_manager`,
app/management/transport.py: a requests call costs ~0.2 ms more CPU,
docs/benchmarks.md) with the same settings: the proxy when it applies to the
Auth0 host, the same CAs, verification always on.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

import certifi
import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.ssl_ import create_urllib3_context

from config.settings import Settings


@dataclass(frozen=True)
class Egress:
    """Where calls to Auth0 go (proxy or direct) and which CAs verify them."""

    proxy: str = ""  # "" = direct
    no_proxy: tuple[str, ...] = ()
    ca_bundle: str = ""  # "" = requests' default (certifi)

    @classmethod
    def from_settings(cls, settings: Settings) -> Egress:
        return cls(settings.https_proxy, settings.no_proxy,
                   str(settings.auth0_ca_bundle) if settings.auth0_ca_bundle else "")

    @property
    def verify(self) -> bool | str:
        return self.ca_bundle or True

    def proxies_for(self, url: str) -> Mapping[str, str]:
        """The `proxies` mapping for one URL: empty when it goes direct."""
        if not self.proxy:
            return {}
        parts = urlsplit(url)
        return _proxies(self.proxy, self.no_proxy, parts.scheme, parts.hostname or "",
                        parts.port)

    def describe(self) -> list[str]:
        """check-config's lines: never the proxy's credentials."""
        shown = redact_proxy(self.proxy) if self.proxy else "none (direct connections)"
        lines = [f"proxy: {shown}"]
        if self.proxy:
            lines.append("direct (NO_PROXY): " + (", ".join(self.no_proxy) or "-"))
        lines.append("CA bundle: " + (self.ca_bundle or "default (certifi); the host's trust "
                                      "store is not used"))
        return lines


def redact_proxy(url: str) -> str:
    """The proxy URL without user and password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    credentials = "***@" if parts.username or parts.password else ""
    return f"{parts.scheme}://{credentials}{host}{port}"


def bypasses(no_proxy: tuple[str, ...], host: str, port: int | None) -> bool:
    """NO_PROXY as curl reads it, without touching os.environ (requests' helper sets it)."""
    host = host.lower().strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy:
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry and address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and (not entry_port.isdigit() or int(entry_port) != port):
            continue
        name = name.strip("[]").lstrip("*")
        if host == name.lstrip(".") or host.endswith("." + name.lstrip(".")):
            return True
    return False


@lru_cache(maxsize=256)
def _proxies(proxy: str, no_proxy: tuple[str, ...], scheme: str, host: str,
             port: int | None) -> Mapping[str, str]:
    if bypasses(no_proxy, host, port):
        return {}
    return {scheme: proxy}


class EgressAdapter(HTTPAdapter):
    """An HTTPAdapter that applies the egress settings to every request it sends."""

    def __init__(self, egress: Egress, **kwargs: Any) -> None:
        self.egress = egress
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: bool | str = True, cert: Any = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        # Whatever the caller passed (Session.request passes its own empty proxies): the
        # settings decide, so no code path reaches Auth0 around the proxy or the CA.
        routed = self.egress.proxies_for(request.url or "")
        if verify is True:
            verify = self.egress.verify
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert,
                            proxies=routed)


def egress_session(settings: Settings, *, pool_connections: int = 4, pool_maxsize: int = 10,
                   user_agent: str | None = None) -> requests.Session:
    """A pooled session to Auth0 that honours the egress settings and nothing else."""
    session = requests.Session()
    adapter = EgressAdapter(Egress.from_settings(settings), pool_connections=pool_connections,
                            pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    # No proxy, CA bundle or .netrc credentials picked up from the host's environment.
    session.trust_env = False
    if user_agent:
        session.headers["User-Agent"] = user_agent
    return session


# What requests sends on its own (the token endpoint's calls still do): the Management API
# sees the same User-Agent and Accept-Encoding as before the move to urllib3, so that
# nothing an operator filters on in the tenant's logs changes.
REQUESTS_HEADERS: Mapping[str, str] = {
    name: value for name, value in requests.utils.default_headers().items()
    if name in ("User-Agent", "Accept-Encoding")}


def tls_context(egress: Egress) -> ssl.SSLContext:
    """Certificates verified and host names checked, always: against AUTH0_CA_BUNDLE, else
    certifi's set (as requests does), never the host's trust store."""
    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
    context.load_verify_locations(cafile=egress.ca_bundle or certifi.where())
    return context


def proxy_headers(proxy: str) -> dict[str, str]:
    """Proxy-Authorization from the proxy URL's credentials, as requests builds it."""
    parts = urlsplit(proxy)
    if not parts.username or parts.password is None:
        return {}
    return urllib3.make_headers(
        proxy_basic_auth=f"{unquote(parts.username)}:{unquote(parts.password)}")


def egress_pool_manager(settings: Settings, url: str, *, maxsize: int,
                        timeout: urllib3.Timeout) -> urllib3.PoolManager:
    """A urllib3 pool manager for calls to `url`'s host under the egress settings: a
    `ProxyManager` when HTTPS_PROXY applies to that host (NO_PROXY decides once, the host is
    fixed), else a direct `PoolManager`. Never a retry or a redirect of its own; the pool
    does not block when full (requests' adapter default): a burst opens extra connections
    that are not kept."""
    egress = Egress.from_settings(settings)
    context = tls_context(egress)  # one context for every connection (and an https proxy)
    pool_kwargs: dict[str, Any] = {"maxsize": maxsize, "block": False, "retries": False,
                                   "timeout": timeout, "ssl_context": context}
    routed = egress.proxies_for(url)
    if routed:
        proxy = next(iter(routed.values()))
        # The URL's credentials go only into Proxy-Authorization; urllib3 keeps host and port.
        return urllib3.ProxyManager(proxy, num_pools=4, proxy_headers=proxy_headers(proxy),
                                    proxy_ssl_context=context, **pool_kwargs)
    return urllib3.PoolManager(num_pools=4, **pool_kwargs)


def describe_egress(settings: Settings) -> tuple[bool, list[str]]:
    """`admin-gateway check-config`: how calls to Auth0 leave this host."""
    return True, Egress.from_settings(settings).describe()
