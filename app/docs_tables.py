"""Markdown tables for the README, generated from the code that enforces them."""

from __future__ import annotations

from collections.abc import Callable

from config.settings import settings_markdown

from .catalog import CATALOG, PERMISSIONS


def permissions_markdown() -> str:
    lines = ["| Permission | Allows | Operations |", "|---|---|---|"]
    for name, meaning in PERMISSIONS.items():
        ops = [f"`{op.method} {op.gateway_path}`" for op in CATALOG
               if op.permission == name or name in op.field_permissions.values()]
        lines.append(f"| `{name}` | {meaning} | {', '.join(ops) or '—'} |")
    return "\n".join(lines)


SECTIONS: dict[str, Callable[[], str]] = {
    "settings": settings_markdown,
    "permissions": permissions_markdown,
}
