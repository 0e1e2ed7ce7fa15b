"""Which catalog operations the tenant's Auth0 plan offers.

Auth0 offers session and refresh-token management on Enterprise plans only
(docs/auth0-facts.md). MGMT_PLAN names the plan (it also sets the fleet budget):
on a plan without them the gateway refuses those operations itself, naming the
plan requirement, and `/gateway/me` does not list them. `custom` (rates set by
hand) says nothing about the plan, so nothing is hidden.
"""

from __future__ import annotations

from config.settings import Settings

from ..catalog import CATALOG, Operation
from ..errors import Problem

ENTERPRISE_PLANS = frozenset({"enterprise", "enterprise-nonprod", "custom"})


def offered(operation: Operation, settings: Settings) -> bool:
    return not operation.enterprise_only or settings.mgmt_plan in ENTERPRISE_PLANS


def offered_operations(settings: Settings) -> tuple[Operation, ...]:
    """The catalog rows the plan offers: the only ones the start-up tier plan must cover
    (a free tenant grants no scope it cannot use)."""
    return tuple(op for op in CATALOG if offered(op, settings))


def plan_required(detail_from_auth0: str | None = None) -> Problem:
    """The problem for an operation the tenant's plan does not offer."""
    said = f" Auth0 said: {detail_from_auth0}" if detail_from_auth0 else ""
    return Problem(403, "Auth0 offers session and refresh-token management on Enterprise "
                        "plans only, and this tenant does not have it (MGMT_PLAN)." + said,
                   title="Not available on this Auth0 plan", slug="plan-required")


def require(operation: Operation, settings: Settings) -> None:
    """Refuse, before any Management call, what the configured plan does not offer."""
    if not offered(operation, settings):
        raise plan_required()
