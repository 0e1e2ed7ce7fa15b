"""Plain records of the emulated tenant that are not Auth0 JSON documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Client:
    """A machine-to-machine application and its client grant for the Management API."""

    client_id: str
    client_secret: str
    name: str
    # Scopes of the client grant for the Management API audience; None/empty = no grant.
    grant_scopes: list[str] | None = None
    grant_types: list[str] = field(default_factory=lambda: ["client_credentials"])
    # Overrides Tenant.token_lifetime for this client (Auth0: per-API token lifetime).
    token_lifetime: int | None = None


@dataclass
class Role:
    """An Auth0 RBAC role with its permissions on the gateway's API."""

    id: str
    name: str
    description: str
    permissions: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description}


@dataclass(frozen=True)
class Connection:
    id: str
    name: str
    strategy: str  # "auth0" for database connections, "google-oauth2", ...

    @property
    def is_database(self) -> bool:
        return self.strategy == "auth0"


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    display_name: str


@dataclass
class RecordedRequest:
    """One Management API request as it arrived, and what the emulator answered."""

    method: str
    raw_path: str
    route: str | None
    params: dict[str, str]
    query: dict[str, list[str]]
    json: Any
    client_id: str | None
    scopes: list[str]
    status: int = 0
    response_json: Any = None
    headers: dict[str, str] = field(default_factory=dict)  # the answer's headers
    # The W3C trace context the caller sent (tracing tests read it), None without one.
    traceparent: str | None = None
