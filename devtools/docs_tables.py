"""Markdown tables for the README, generated from the code that enforces them."""

from __future__ import annotations

from collections.abc import Callable

from app.catalog import CATALOG, GATEWAY_ACTIONS, PERMISSIONS
from config.settings import settings_markdown


def permissions_markdown() -> str:
    lines = ["| Permission | Allows | Operations |", "|---|---|---|"]
    for name, meaning in PERMISSIONS.items():
        ops = [f"`{op.method} {op.gateway_path}`" for op in (*CATALOG, *GATEWAY_ACTIONS)
               if op.permission == name or name in op.field_permissions.values()]
        lines.append(f"| `{name}` | {meaning} | {', '.join(ops) or '—'} |")
    return "\n".join(lines)


def endpoints_markdown() -> str:
    """Every facade endpoint with its permission, accepted scopes and the example tier."""
    from app.management.tiers import plan_tiers
    from config.settings import Secret, TierConfig
    from emulator.seed import DEMO_CLIENTS

    from .demo import DEMO_TIERS

    tiers = [TierConfig(name, client, Secret("-"), frozenset(DEMO_CLIENTS[client][1]))
             for name, client in DEMO_TIERS.items()]
    lines = ["| Method | Path | Permission (+ by field) | Management scopes Auth0 accepts | "
             "Tier (example) |", "|---|---|---|---|---|"]
    for row in plan_tiers(tiers):
        op = row.operation
        extra = sorted({f"`{f}`→`{p}`" for f, p in op.field_permissions.items()
                        if p != op.permission})
        if op.permission_by_field:
            permission = f"by field: {', '.join(extra)}, any other → `{op.permission}`"
        else:
            permission = f"`{op.permission}`" + (f" (+ {', '.join(extra)})" if extra else "")
        path = op.gateway_path + (f" (body only {', '.join(sorted(row.fields))})"
                                  if row.fields else "")
        scopes = ", ".join(f"`{s}`" for s in sorted(row.accepted))
        lines.append(f"| {op.method} | `{path}` | {permission} | {scopes} | {row.tier.name} |")
    return "\n".join(lines)


def problems_markdown() -> str:
    from app.errors import PROBLEM_TYPE_BASE, PROBLEM_TYPES

    lines = [f"| `type` (after `{PROBLEM_TYPE_BASE}`) | Status and meaning |", "|---|---|"]
    lines += [f"| `{slug}` | {meaning} |" for slug, meaning in PROBLEM_TYPES.items()]
    return "\n".join(lines)


SECTIONS: dict[str, Callable[[], str]] = {
    "problems": problems_markdown,
    "endpoints": endpoints_markdown,
    "settings": settings_markdown,
    "permissions": permissions_markdown,
}
