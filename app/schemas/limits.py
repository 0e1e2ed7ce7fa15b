"""Auth0's limits on what a body may hold (docs/limits.md cites each one).

Checked before a body reaches Auth0, so that nothing is forwarded that Auth0
would refuse or could not read back. The walks are iterative: a body nested
thousands of levels deep is measured, never recursed into.
"""

from __future__ import annotations

from typing import Any

# Body size: MAX_BODY_BYTES (413 above it) may not exceed Auth0's 1 MB payload limit
# (config/settings.py, AUTH0_MAX_PAYLOAD_BYTES).

# UNCONFIRMED (docs/limits.md): Auth0 documents no nesting limit. Its user store keeps at
# most 100 levels per document, the user document itself being the first.
MAX_FIELD_DEPTH = 99
METADATA_FIELDS = ("user_metadata", "app_metadata")
# "Field names must not contain the . (dot) or $ (dollar sign) characters."
FORBIDDEN_KEY_CHARACTERS = ".$"

Errors = dict[str, list[str]]


def nesting_depth(value: Any) -> int:
    """Levels of objects and arrays: 0 for a scalar, 1 for {} or {"a": 1}, 2 for {"a": []}."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children
                     if isinstance(child, (dict, list)))
    return deepest


def forbidden_keys(value: Any) -> list[str]:
    """Object keys, at any depth, that contain `.` or `$` (the first five found)."""
    found: list[str] = []
    stack: list[Any] = [value]
    while stack and len(found) < 5:
        node = stack.pop()
        if isinstance(node, dict):
            found.extend(key for key in node
                         if any(c in str(key) for c in FORBIDDEN_KEY_CHARACTERS))
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return found[:5]


def _shown(key: str) -> str:
    return repr(key if len(key) <= 40 else key[:40] + "...")


def depth_errors(body: dict[str, Any]) -> Errors:
    """Every body field nested deeper than Auth0 keeps, with the limit named."""
    errors: Errors = {}
    for name, value in body.items():
        depth = nesting_depth(value)
        if depth > MAX_FIELD_DEPTH:
            errors[str(name)] = [f"{name} is nested {depth} levels deep; at most "
                                 f"{MAX_FIELD_DEPTH} are accepted."]
    return errors


def metadata_key_errors(values: dict[str, Any]) -> Errors:
    """user_metadata / app_metadata keys that Auth0 refuses (`.` or `$`), at any depth."""
    errors: Errors = {}
    for name in METADATA_FIELDS:
        bad = forbidden_keys(values.get(name))
        if bad:
            errors[name] = [f"{name} has field names with '.' or '$' "
                            f"({', '.join(map(_shown, bad))}); Auth0 accepts neither."]
    return errors
