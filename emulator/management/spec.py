"""The operations the emulator serves, as derived from Auth0's spec by extract_spec."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SUBSET_PATH = Path(__file__).resolve().parent.parent / "auth0_subset.json"
API_PREFIX = "/api/v2"


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str  # spec path template, e.g. "/users/{id}"
    scopes: tuple[str, ...]
    query: dict[str, dict[str, Any]]
    required_query: tuple[str, ...]
    body: dict[str, Any] | None
    responses: tuple[str, ...]

    @property
    def route(self) -> str:
        """The template used as key of ``Tenant.calls``: "/api/v2/users/{id}"."""
        return API_PREFIX + self.path

    @property
    def flask_rule(self) -> str:
        return self.route.replace("{", "<").replace("}", ">")

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}"


@cache
def operations() -> dict[str, Operation]:
    """operationId -> Operation, loaded once from the committed subset file."""
    data = json.loads(SUBSET_PATH.read_text(encoding="utf-8"))
    ops: dict[str, Operation] = {}
    for raw in data["operations"]:
        op = Operation(
            operation_id=raw["operationId"],
            method=raw["method"],
            path=raw["path"],
            scopes=tuple(raw["scopes"]),
            query=raw["query"],
            required_query=tuple(raw["required_query"]),
            body=raw["body"],
            responses=tuple(raw["responses"]),
        )
        ops[op.operation_id] = op
    return ops
