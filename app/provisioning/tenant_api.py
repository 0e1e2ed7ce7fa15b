"""The provisioning commands' Management API client: paced, 429-aware, through the egress.

One credential: a Management API token given as is, or an M2M application's
id and secret minted once with client credentials. Every request goes through
the same proxy and CA bundle as the gateway (app/egress.py), waits its turn
under the tenant's Management rate limit (MGMT_PLAN, as the gateway's fleet
budget reads it), and on a 429 waits for `Retry-After` / `x-ratelimit-reset`
as long as the wait budget allows. With `dry_run`, writes are recorded and
printed, never sent; reads still happen (the diff needs them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from app.egress import egress_session
from app.guards.budget import budget_plan
from app.management.client import retry_after_seconds
from config.settings import Secret, Settings


class ProvisioningError(Exception):
    """Auth0 refused or failed a call; the message names it (never a token or secret)."""


@dataclass(frozen=True)
class Write:
    method: str
    path: str
    body: Any

    def describe(self) -> str:
        return f"{self.method} /api/v2{self.path}"


@dataclass(frozen=True)
class Credential:
    token: Secret | None = None
    client_id: str | None = None
    client_secret: Secret | None = None


class Pacer:
    """A local token bucket at the plan's rate (the slowest bucket for Essentials)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self.capacity = float(max(1, burst))
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()
        self.lock = threading.Lock()

    def take(self) -> None:
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens < 1:
                wait = (1 - self.tokens) / self.rate
                self.sleep(wait)
                self.updated = self.clock()
                self.tokens = 1.0
            self.tokens -= 1


def plan_pacer(settings: Settings) -> Pacer:
    buckets = budget_plan(settings).buckets.values()
    slowest = min(buckets, key=lambda b: b.rate)
    return Pacer(slowest.gateway_rate, slowest.capacity or 1)


class TenantApi:
    def __init__(self, settings: Settings, credential: Credential, *, dry_run: bool = False,
                 wait_budget: float = 60.0, session: requests.Session | None = None,
                 pacer: Pacer | None = None) -> None:
        self.settings = settings
        self.credential = credential
        self.dry_run = dry_run
        self.wait_budget = wait_budget
        self.session = session or egress_session(settings, user_agent="admin-gateway (tenant)")
        self.pacer = pacer or plan_pacer(settings)
        self.writes: list[Write] = []
        self.requests = 0
        self._token: str | None = credential.token.reveal() if credential.token else None
        self.granted: frozenset[str] | None = None

    # -- credentials ----------------------------------------------------------------

    def token(self) -> str:
        if self._token is not None:
            return self._token
        cred = self.credential
        if not cred.client_id or cred.client_secret is None:
            raise ProvisioningError("no credential: give a Management API token or an M2M "
                                    "application's client id and secret")
        timeout = (self.settings.upstream_connect_timeout, self.settings.upstream_read_timeout)
        try:
            response = self.session.post(self.settings.token_url, data={
                "grant_type": "client_credentials", "client_id": cred.client_id,
                "client_secret": cred.client_secret.reveal(),
                "audience": self.settings.management_audience},
                timeout=timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise ProvisioningError(f"the token endpoint could not be reached "
                                    f"({type(exc).__name__})") from None
        with response:
            body = response.json() if response.headers.get("Content-Type", "").startswith(
                "application/json") else {}
        if response.status_code != 200 or not isinstance(body.get("access_token"), str):
            error = body.get("error") if isinstance(body, dict) else None
            raise ProvisioningError(f"Auth0 refused the credential of client {cred.client_id}: "
                                    f"HTTP {response.status_code} {error or ''}".rstrip())
        self._token = str(body["access_token"])
        self.granted = frozenset(str(body.get("scope", "")).split())
        return self._token

    # -- requests -------------------------------------------------------------------

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self._send("GET", path, params, None)

    def get_all(self, path: str, key: str, params: dict[str, str] | None = None) -> list[Any]:
        """Every item of a paged list (include_totals pages of 50)."""
        items: list[Any] = []
        page = 0
        while True:
            body = self.get(path, {**(params or {}), "page": str(page), "per_page": "50",
                                   "include_totals": "true"})
            chunk = body.get(key, []) if isinstance(body, dict) else body
            items.extend(chunk)
            total = body.get("total", len(items)) if isinstance(body, dict) else len(items)
            if not chunk or len(items) >= total:
                return items
            page += 1

    def write(self, method: str, path: str, body: Any = None) -> Any:
        self.writes.append(Write(method, path, body))
        if self.dry_run:
            return None
        return self._send(method, path, None, body)

    def _send(self, method: str, path: str, params: dict[str, str] | None, body: Any) -> Any:
        url = self.settings.management_url + path
        deadline = time.monotonic() + self.wait_budget
        timeout = (self.settings.upstream_connect_timeout, self.settings.upstream_read_timeout)
        refreshed = False
        while True:
            self.pacer.take()
            self.requests += 1
            try:
                response = self.session.request(
                    method, url, params=params, json=body, timeout=timeout,
                    allow_redirects=False,
                    headers={"Authorization": f"Bearer {self.token()}",
                             "Accept": "application/json"})
            except requests.RequestException as exc:
                raise ProvisioningError(f"{method} /api/v2{path}: Auth0 could not be reached "
                                        f"({type(exc).__name__})") from None
            if response.status_code == 429:
                wait = retry_after_seconds(response.headers)
                if time.monotonic() + wait > deadline:
                    raise ProvisioningError(f"{method} /api/v2{path}: Auth0's rate limit (429) "
                                            f"outlasts the wait budget of {self.wait_budget:g}s")
                time.sleep(wait)
                continue
            if response.status_code == 401 and not refreshed and self.credential.client_id:
                self._token = None
                refreshed = True
                continue
            if response.status_code >= 400:
                raise ProvisioningError(f"{method} /api/v2{path}: HTTP {response.status_code} "
                                        f"{_message(response)}")
            if not response.content:
                return None
            return response.json()


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("message", ""))[:300] if isinstance(body, dict) else ""


def segment(value: str) -> str:
    """A path segment, percent-encoded."""
    return quote(value, safe="")
