"""Credential tiers: which M2M application each Management API operation runs with.

Auth0 ignores `scope` in the client-credentials grant, so least privilege takes
several applications ("tiers"). Each call uses the smallest tier whose scopes
Auth0's spec accepts for the operation: `TierPlan` decides every operation at
start-up (refusing an uncovered one); `describe_tiers` is check-config's table.

Design: docs/token-broker.md, "Credential tiers: least privilege despite Auth0".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from app.catalog import CATALOG, NEVER_CHOSEN_SCOPES, Operation
from config.settings import ConfigError, Settings, TierConfig

from .plans import offered_operations

# Scopes that only read. Anything else a read operation's tier holds could write.
READ_PREFIX = "read:"


class NoCoveringTier(LookupError):
    """No configured tier holds any scope Auth0 accepts for this operation."""

    def __init__(self, operation: Operation, needed: frozenset[str]) -> None:
        self.operation = operation
        self.needed = needed
        super().__init__(
            f"no credential tier covers {operation.operation_id} ({operation.method} "
            f"{operation.gateway_path}): give one tier (MGMT_TIER_<NAME>_SCOPES) one of "
            f"{' '.join(sorted(needed)) or '(no client-credentials scope exists)'}"
        )


def choose_tier(operation: Operation, body_fields: Iterable[str],
                tiers: Sequence[TierConfig]) -> TierConfig:
    """The smallest tier whose scopes include one of the operation's accepted scopes (all of
    them, for an operation that `needs_all_scopes`)."""
    accepted = operation.accepted_scopes(body_fields)
    covering = [tier for tier in tiers if _covers(tier, operation, accepted)]
    if not covering:
        raise NoCoveringTier(operation, accepted)
    # min() keeps the first of equals, so ties go to configuration order.
    return min(covering, key=lambda tier: len(tier.scopes))


def _covers(tier: TierConfig, operation: Operation, accepted: frozenset[str]) -> bool:
    if operation.needs_all_scopes:
        return bool(accepted) and accepted <= tier.scopes
    return bool(tier.scopes & accepted)


@dataclass(frozen=True)
class TierChoice:
    """One row of the tier table: an operation (maybe limited to some body fields) -> tier."""

    operation: Operation
    fields: frozenset[str]  # empty: any body; else the body touches only these fields
    accepted: frozenset[str]
    tier: TierConfig

    @property
    def label(self) -> str:
        base = f"{self.operation.method} {self.operation.gateway_path}"
        if self.fields:
            return f"{base} (only {', '.join(sorted(self.fields))})"
        return base

    @property
    def extra_scopes(self) -> frozenset[str]:
        """Scopes the token carries that this operation does not need."""
        return self.tier.scopes - self.accepted

    @property
    def write_capable_extras(self) -> frozenset[str]:
        """For a read operation: the extra scopes that could change something."""
        if self.operation.is_write:
            return frozenset()
        return frozenset(s for s in self.extra_scopes if not s.startswith(READ_PREFIX))


def _variants(operation: Operation) -> list[frozenset[str]]:
    """Body-field sets that change the accepted scopes: any body, then each field limit."""
    return [frozenset(), *(frozenset(fields) for fields in operation.scope_field_limits.values())]


def plan_tiers(tiers: Sequence[TierConfig],
               catalog: Sequence[Operation] = CATALOG) -> tuple[TierChoice, ...]:
    """The tier each catalog operation runs with; raise ConfigError naming uncovered ones.

    "Any body" is checked first: its accepted scopes are a subset of every
    field-limited variant's, so if it is covered every request is.
    """
    rows: list[TierChoice] = []
    problems: list[str] = []
    for operation in catalog:
        for fields in _variants(operation):
            try:
                tier = choose_tier(operation, fields, tiers)
            except NoCoveringTier as exc:
                problems.append(str(exc))
                break
            rows.append(TierChoice(operation, fields, operation.accepted_scopes(fields), tier))
    if problems:
        raise ConfigError(problems)
    return tuple(rows)


def _limits_applying(operation: Operation, fields: frozenset[str]) -> frozenset[str]:
    """The field-limited scopes a body touching exactly `fields` may use."""
    return frozenset(scope for scope, allowed in operation.scope_field_limits.items()
                     if fields and fields <= allowed)


class TierPlan:
    """The start-up tier table; requests look their tier up here instead of choosing again."""

    def __init__(self, tiers: Sequence[TierConfig], catalog: Sequence[Operation] = CATALOG
                 ) -> None:
        self.rows = plan_tiers(tiers, catalog)  # raises ConfigError naming uncovered ones
        # Every combination of field limits a body can satisfy, chosen once.
        self._tiers: dict[tuple[str, frozenset[str]], TierConfig] = {}
        for operation in catalog:
            limits = list(operation.scope_field_limits.items())
            for mask in range(1 << len(limits)):
                chosen = [limits[i][1] for i in range(len(limits)) if mask >> i & 1]
                fields = frozenset.intersection(*chosen) if chosen else frozenset()
                key = (operation.operation_id, _limits_applying(operation, fields))
                if key not in self._tiers:
                    self._tiers[key] = choose_tier(operation, fields, tiers)

    def __iter__(self) -> Iterator[TierChoice]:
        return iter(self.rows)

    def tier_for(self, operation: Operation, body_fields: Iterable[str] = ()) -> TierConfig:
        """What `choose_tier(operation, body_fields, tiers)` answers, without choosing again."""
        fields = frozenset(body_fields)
        return self._tiers[(operation.operation_id, _limits_applying(operation, fields))]


def tier_warnings(tiers: Sequence[TierConfig], rows: Sequence[TierChoice]) -> list[str]:
    """What an operator should know about the tiers' privileges (never fatal)."""
    warnings: list[str] = []
    if len(tiers) == 1:
        warnings.append(
            f"only one credential tier ({tiers[0].name}): every operation runs with all of its "
            "scopes; configure several M2M applications (e.g. MGMT_TIERS=read,write,admin) "
            "for least privilege")
    over = [row for row in rows if row.extra_scopes]
    if over:
        warnings.append(f"{len(over)} of {len(rows)} operations run over-privileged "
                        "(see 'extra scopes' above)")
    writable_reads = [row for row in rows if row.write_capable_extras]
    for row in writable_reads:
        warnings.append(f"read operation {row.label} runs with write-capable "
                        f"scopes {' '.join(sorted(row.write_capable_extras))} (tier "
                        f"{row.tier.name})")
    for tier in tiers:
        risky = tier.scopes & NEVER_CHOSEN_SCOPES
        if risky:
            warnings.append(
                f"tier {tier.name} holds {' '.join(sorted(risky))}: Auth0 then returns identity "
                "provider access tokens inside user profiles; remove it from the client grant")
    used = {row.tier.name for row in rows}
    for tier in tiers:
        if tier.name not in used:
            warnings.append(f"tier {tier.name} is never chosen (a smaller tier covers each of "
                            "its operations); remove it or narrow the others")
    return warnings


def tier_table(rows: Sequence[TierChoice]) -> list[str]:
    width = max((len(row.label) for row in rows), default=10)
    tier_width = max((len(row.tier.name) for row in rows), default=4)
    lines = [f"{'operation':<{width}}  {'tier':<{tier_width}}  extra scopes"]
    for row in rows:
        extras = " ".join(sorted(row.extra_scopes)) or "-"
        lines.append(f"{row.label:<{width}}  {row.tier.name:<{tier_width}}  {extras}")
    return lines


def describe_tiers(settings: Settings) -> tuple[bool, list[str]]:
    """`admin-gateway check-config`: the operation -> tier table and privilege warnings."""
    try:
        rows = plan_tiers(settings.tiers, offered_operations(settings))
    except ConfigError as exc:
        return False, list(exc.problems)
    lines = tier_table(rows)
    lines.extend(f"WARNING: {w}" for w in tier_warnings(settings.tiers, rows))
    return True, lines
