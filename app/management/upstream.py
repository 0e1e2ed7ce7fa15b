"""The one way to Auth0's Management API: the start-up tier plan and the pooled client.

The facade sends each call here, and the guardrails read what they must check
(a target user, role names) through the same tiers, budget and error mapping.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from config.settings import TierConfig

from ..catalog import Operation
from .client import ManagementClient, UpstreamResult
from .tiers import TierPlan


def upstream_path(operation: Operation, path_params: dict[str, str]) -> str:
    """Auth0's path with every parameter percent-encoded as ONE segment.

    `auth0|123` stays one segment; `/`, `%2F`, `..`, NUL and control characters
    can never change which upstream path is called (validation already refuses
    most of them; encoding with safe="" is the second wall).
    """
    return operation.path.format(**{name: quote(value, safe="")
                                    for name, value in path_params.items()})


class Upstream:
    def __init__(self, client: ManagementClient, plan: TierPlan) -> None:
        self.client = client
        self.plan = plan

    def tier_for(self, operation: Operation, body_fields: Iterable[str] = ()) -> TierConfig:
        return self.plan.tier_for(operation, body_fields)

    def send(self, operation: Operation, tier: TierConfig, path_params: dict[str, str],
             query: list[tuple[str, str]], body: dict[str, Any] | None) -> UpstreamResult:
        return self.client.call(operation, tier, upstream_path(operation, path_params),
                                query, body)

    def read(self, operation: Operation, path_params: dict[str, str],
             query: list[tuple[str, str]] | None = None) -> UpstreamResult:
        """A GET through the operation's tier, the budget and the client's error mapping (a
        missing user raises the same 404 Problem the facade would return)."""
        assert not operation.is_write
        return self.send(operation, self.tier_for(operation), path_params, query or [], None)
