"""The tier plan with the least over-privilege, found by exact search.

Auth0 ignores `scope` in client credentials: a token carries every scope its
M2M application was granted (AUTH0_FACTS.md). An operation therefore runs
with *no* scope beyond its need only if its tier holds nothing but scopes that
operation accepts. For every catalog operation, and every field-limited
variant of it (a PATCH touching only `app_metadata` also accepts
`update:users_app_metadata`), the plan must offer a tier T with

    T ⊆ accepted(variant)  and  T ∩ accepted(variant) ≠ ∅,

and `choose_tier`'s rule (the smallest covering tier, ties in configuration
order) must then pick such a tier. One-scope tiers satisfy both: replacing a
larger tier by any one of its scopes keeps every variant it served covered,
so no plan needs fewer applications than the smallest *hitting set* of the
variants' accepted-scope sets, and that hitting set, one application per
scope, is a plan. The search is exact (a few thousand subsets at this size):
the fewest applications first; among those, the narrowest tokens, measured by
how many Management API operations each chosen scope unlocks according to
Auth0's own document (`scope_reach.json`, scripts/extract_scope_reach.py;
equal reach: the more specific name, so `read:logs_users` before `read:logs`).
Tiers are ordered narrowest first, so `choose_tier` prefers the narrower of
two covering tiers.

`verify` checks the result with the gateway's own TierPlan and tier_warnings:
zero extra scopes on every row, no warning.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from pathlib import Path

from app.catalog import CATALOG, Operation
from app.management.tiers import TierPlan, tier_warnings
from config.settings import Secret, TierConfig

REACH_FILE = Path(__file__).with_name("scope_reach.json")


@cache
def scope_reach() -> Mapping[str, tuple[str, ...]]:
    """Scope -> the Management API operations ("METHOD /path") Auth0's document lets it call."""
    data = json.loads(REACH_FILE.read_text(encoding="utf-8"))
    return {scope: tuple(ops) for scope, ops in data["scopes"].items()}


@dataclass(frozen=True)
class Need:
    """One operation, maybe limited to some body fields, and the scopes Auth0 accepts for it."""

    operation: Operation
    fields: frozenset[str]
    accepted: frozenset[str]

    @property
    def label(self) -> str:
        base = f"{self.operation.method} {self.operation.gateway_path}"
        return f"{base} (only {', '.join(sorted(self.fields))})" if self.fields else base

    @property
    def auth0_operation(self) -> str:
        return f"{self.operation.method} {self.operation.path}"


@dataclass(frozen=True)
class PlannedTier:
    name: str  # the MGMT_TIERS name
    scopes: frozenset[str]


@dataclass(frozen=True)
class Assignment:
    need: Need
    tier: PlannedTier
    # Management API operations the tier's token could call besides this one.
    beyond: tuple[str, ...]


@dataclass(frozen=True)
class LeastPrivilegePlan:
    tiers: tuple[PlannedTier, ...]  # narrowest first: choose_tier's tie-break order
    assignments: tuple[Assignment, ...]

    def tier_configs(self, client_ids: Mapping[str, str] | None = None,
                     secrets: Mapping[str, str] | None = None) -> tuple[TierConfig, ...]:
        return tuple(TierConfig(t.name, (client_ids or {}).get(t.name, f"planned-{t.name}"),
                                Secret((secrets or {}).get(t.name, "planned")), t.scopes)
                     for t in self.tiers)


class NoPlan(ValueError):
    """Some operation accepts no client-credentials scope at all."""


def needs(catalog: Sequence[Operation] = CATALOG) -> tuple[Need, ...]:
    """Every operation and every combination of field limits a body can satisfy."""
    found: list[Need] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    for operation in catalog:
        limits = list(operation.scope_field_limits.values())
        for mask in range(1 << len(limits)):
            chosen = [frozenset(limits[i]) for i in range(len(limits)) if mask >> i & 1]
            fields = frozenset.intersection(*chosen) if chosen else frozenset()
            accepted = operation.accepted_scopes(fields)
            if (operation.operation_id, accepted) in seen:
                continue
            seen.add((operation.operation_id, accepted))
            found.append(Need(operation, fields, accepted))
    return tuple(found)


def tier_name(scope: str) -> str:
    """`update:users_app_metadata` -> `update_users_app_metadata` (a valid MGMT_TIERS name)."""
    return scope.replace(":", "_")


def _reach(scope: str) -> int:
    return len(scope_reach().get(scope, ())) or 1


def _ordered(scopes: Sequence[str]) -> list[str]:
    # Equal reach: the more specific name (read:logs_users before read:logs), then A-Z.
    return sorted(scopes, key=lambda s: (_reach(s), -len(s), s))


def _chosen(ordered: Sequence[str], need: Need) -> str:
    return next(s for s in ordered if s in need.accepted)


def plan_least_privilege(catalog: Sequence[Operation] = CATALOG) -> LeastPrivilegePlan:
    all_needs = needs(catalog)
    empty = [n.label for n in all_needs if not n.accepted]
    if empty:
        raise NoPlan("no client-credentials scope is accepted by: " + ", ".join(empty))
    # An operation that needs all of its scopes gets a tier of exactly those (no narrower
    # tier can serve it); the others are planned over one-scope tiers.
    # Named after the (first) operation it serves: joined scope names outgrow MGMT_TIERS'
    # 32 characters.
    joint: dict[frozenset[str], str] = {}
    for need in all_needs:
        if need.operation.needs_all_scopes:
            joint.setdefault(need.accepted, need.operation.operation_id.replace("-", "_"))
    single_needs = [n for n in all_needs if not n.operation.needs_all_scopes]
    # A need with one accepted scope forces that scope into every plan; the exact search
    # runs over what the forced scopes leave unhit (it stays small as the catalog grows).
    forced = {next(iter(n.accepted)) for n in single_needs if len(n.accepted) == 1}
    open_needs = [n for n in single_needs if not n.accepted & forced]
    candidates = sorted({s for n in open_needs for s in n.accepted} - forced)
    best: tuple[tuple[int, int, tuple[tuple[int, str], ...]], list[str]] | None = None
    for size in range(0, len(candidates) + 1):
        for combo in combinations(candidates, size):
            chosen = forced | set(combo)
            if not all(n.accepted & chosen for n in open_needs):
                continue
            ordered = _ordered(sorted(chosen))
            cost = (sum(_reach(_chosen(ordered, n)) for n in single_needs),
                    sum(_reach(s) for s in chosen),
                    tuple((-len(s), s) for s in ordered))
            if best is None or cost < best[0]:
                best = (cost, ordered)
        if best is not None:
            break
    assert best is not None  # every need has a scope, so all candidates hit them all
    singles = [PlannedTier(tier_name(s), frozenset({s})) for s in best[1]]
    joints = [PlannedTier(name, scopes) for scopes, name in sorted(joint.items(),
                                                                    key=lambda j: j[1])]
    tiers = (*singles, *joints)  # one-scope tiers first: choose_tier prefers them
    by_scope = {next(iter(t.scopes)): t for t in singles}
    by_joint = {t.scopes: t for t in joints}
    assignments = []
    for need in all_needs:
        tier = (by_joint[need.accepted] if need.operation.needs_all_scopes
                else by_scope[_chosen(best[1], need)])
        reach = {op for s in tier.scopes for op in scope_reach().get(s, ())}
        assignments.append(Assignment(need, tier, tuple(sorted(reach - {need.auth0_operation}))))
    return LeastPrivilegePlan(tiers, tuple(assignments))


def verify(plan: LeastPrivilegePlan, catalog: Sequence[Operation] = CATALOG) -> list[str]:
    """What the gateway's own tier choice says about the plan: empty when it is least-privilege.

    TierPlan (start-up) must pick, for every operation, a tier with zero scopes beyond the
    operation's accepted set, and tier_warnings must have nothing to say.
    """
    tiers = plan.tier_configs()
    problems: list[str] = []
    table = TierPlan(tiers, catalog)
    for row in table:
        if row.extra_scopes:
            problems.append(f"{row.label} would run with extra scopes "
                            f"{' '.join(sorted(row.extra_scopes))} (tier {row.tier.name})")
    for need in needs(catalog):
        tier = table.tier_for(need.operation, need.fields)
        if not tier.scopes <= need.accepted:
            problems.append(f"{need.label} would run with tier {tier.name}, beyond its need")
    problems.extend(tier_warnings(tiers, table.rows))
    return problems
