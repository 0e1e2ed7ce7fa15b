"""The policy file (`config/policy.toml`): which gateway permissions each role grants.

    [roles."Support Reader"]
    permissions = ["users:read", "roles:read"]

`load_policy` validates it once, at start-up, reporting every problem with file
and line; a `PolicyFormat` names the validators of the sections and role keys
other modules own (the gateway's is `app/policy_format.py`).

Design: docs/authentication.md, "The policy file".
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.catalog import PERMISSIONS

ROLES_SECTION = "roles"
PERMISSIONS_KEY = "permissions"


class PolicyError(Exception):
    """The policy cannot be used; `problems` holds one line per problem (file:line: what)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class Locator:
    """Finds the line of a section, key or value in the policy text, for error messages."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self._lines = text.splitlines()

    def _section_range(self, dotted: tuple[str, ...]) -> tuple[int, int] | None:
        """Line indexes [start, end) of the table whose header names `dotted`."""
        start = None
        for index, line in enumerate(self._lines):
            stripped = line.strip()
            if not stripped.startswith("["):
                continue
            if start is not None:
                return start, index
            keys = _header_keys(stripped)
            if keys is not None and keys[:len(dotted)] == dotted:
                start = index
        return (start, len(self._lines)) if start is not None else None

    def line_of(self, *, section: tuple[str, ...] = (), key: str | None = None,
                value: str | None = None) -> int | None:
        """1-based line of `key = ...` or of the quoted `value` (in `section` when found there)."""
        patterns = []
        if key is not None:
            patterns.append(re.compile(rf"^\s*(\"{re.escape(key)}\"|'{re.escape(key)}'|"
                                       rf"{re.escape(key)})\s*="))
        if value is not None:
            patterns.append(re.compile(rf"(\"{re.escape(value)}\"|'{re.escape(value)}')"))
        if not patterns:
            found = self._section_range(section) if section else None
            return found[0] + 1 if found else None
        ranges = []
        found = self._section_range(section) if section else None
        if found:
            ranges.append(found)
        ranges.append((0, len(self._lines)))  # inline tables, or a section we could not parse
        for begin, end in ranges:
            for index in range(begin, end):
                line = self._lines[index].split("#", 1)[0]
                if all(p.search(line) for p in patterns):
                    return index + 1
        return None

    def where(self, **kwargs: Any) -> str:
        line = self.line_of(**kwargs)
        return f"{self.path}:{line}" if line else str(self.path)


_BARE_OR_QUOTED = re.compile(r"\s*(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[A-Za-z0-9_-]+)\s*(\.|$)")


def _header_keys(header: str) -> tuple[str, ...] | None:
    """`[roles."Support Reader"]` -> ("roles", "Support Reader"); None when not a table header."""
    inner = header.split("#", 1)[0].strip()
    if not (inner.startswith("[") and inner.endswith("]")) or inner.startswith("[["):
        return None
    body, keys, pos = inner[1:-1], [], 0
    while pos < len(body):
        match = _BARE_OR_QUOTED.match(body, pos)
        if not match:
            return None
        token = match.group(1)
        keys.append(token[1:-1] if token[0] in "\"'" else token)
        pos = match.end()
    return tuple(keys)


# Validators receive the raw TOML value, a Locator and a problem list to append to,
# and return the parsed value that lands in Policy.sections / Role.extras.
SectionValidator = Callable[[Any, Locator, list[str]], Any]
RoleKeyValidator = Callable[[str, Any, Locator, list[str]], Any]

@dataclass(frozen=True)
class PolicyFormat:
    """Who validates what beyond `[roles."X"] permissions`: top-level sections by name,
    and extra keys inside a role (e.g. `assignable_roles`)."""

    sections: Mapping[str, SectionValidator] = field(default_factory=dict)
    role_keys: Mapping[str, RoleKeyValidator] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if ROLES_SECTION in self.sections:
            raise ValueError("the roles section belongs to app.auth.policy")
        if PERMISSIONS_KEY in self.role_keys:
            raise ValueError("the permissions key belongs to app.auth.policy")


@dataclass(frozen=True)
class Role:
    name: str
    permissions: frozenset[str]
    # Values of registered role keys, by key.
    extras: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    path: Path
    roles: Mapping[str, Role]
    # Values of registered top-level sections, by section name.
    sections: Mapping[str, Any] = field(default_factory=dict)

    def permissions_for(self, role_names: Iterable[str]) -> frozenset[str]:
        """Permissions the named roles grant; roles the policy does not know grant nothing."""
        granted: set[str] = set()
        for name in role_names:
            role = self.roles.get(name)
            if role is not None:
                granted |= role.permissions
        return frozenset(granted)


def _validate_permissions(role: str, raw: Any, locate: Locator,
                          problems: list[str]) -> frozenset[str]:
    section = (ROLES_SECTION, role)
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        problems.append(f"{locate.where(section=section, key=PERMISSIONS_KEY)}: role {role!r}: "
                        f"`permissions` must be a list of permission names")
        return frozenset()
    for name in raw:
        if name not in PERMISSIONS:
            problems.append(
                f"{locate.where(section=section, value=name)}: role {role!r}: unknown permission "
                f"{name!r}; known permissions: {', '.join(PERMISSIONS)}")
    seen = [p for p in raw if raw.count(p) > 1]
    if seen:
        problems.append(f"{locate.where(section=section, value=seen[0])}: role {role!r}: "
                        f"permission {seen[0]!r} is listed twice")
    return frozenset(p for p in raw if p in PERMISSIONS)


def _validate_roles(raw: Any, locate: Locator, problems: list[str],
                    role_keys: Mapping[str, RoleKeyValidator]) -> dict[str, Role]:
    if not isinstance(raw, dict):
        problems.append(f"{locate.where(key=ROLES_SECTION)}: `roles` must be a table of roles")
        return {}
    roles: dict[str, Role] = {}
    for name, body in raw.items():
        section = (ROLES_SECTION, name)
        if not name.strip():
            problems.append(f"{locate.where(section=section)}: a role name must not be empty")
            continue
        if not isinstance(body, dict):
            problems.append(f"{locate.where(section=section)}: role {name!r} must be a table "
                            f'([roles."{name}"] with a permissions list)')
            continue
        if PERMISSIONS_KEY not in body:
            problems.append(f"{locate.where(section=section)}: role {name!r} has no "
                            f"`permissions` list")
        permissions = _validate_permissions(name, body.get(PERMISSIONS_KEY, []), locate, problems)
        extras: dict[str, Any] = {}
        for key, value in body.items():
            if key == PERMISSIONS_KEY:
                continue
            validator = role_keys.get(key)
            if validator is None:
                known = ", ".join([PERMISSIONS_KEY, *sorted(role_keys)])
                problems.append(f"{locate.where(section=section, key=key)}: role {name!r}: "
                                f"unknown key {key!r}; allowed keys: {known}")
                continue
            extras[key] = validator(name, value, locate, problems)
        roles[name] = Role(name, permissions, MappingProxyType(extras))
    return roles


def parse_policy(text: str, path: Path, form: PolicyFormat | None = None) -> Policy:
    """Parse and validate policy text; raise PolicyError listing every problem.

    Without `form`, only `[roles."X"] permissions` is known."""
    form = form or PolicyFormat()
    locate = Locator(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already says "(at line N, column M)".
        raise PolicyError([f"{path}: not valid TOML: {exc}"]) from None
    problems: list[str] = []
    roles: dict[str, Role] = {}
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name == ROLES_SECTION:
            roles = _validate_roles(value, locate, problems, form.role_keys)
            continue
        validator = form.sections.get(name)
        if validator is None:
            known = ", ".join([ROLES_SECTION, *sorted(form.sections)])
            where = (locate.where(section=(name,)) if locate.line_of(section=(name,))
                     else locate.where(key=name))
            problems.append(f"{where}: unknown section {name!r}; known sections: {known}")
            continue
        sections[name] = validator(value, locate, problems)
    if ROLES_SECTION not in data:
        problems.append(f"{path}: no [roles.\"...\"] table: the policy grants nothing")
    if problems:
        raise PolicyError(problems)
    return Policy(path, MappingProxyType(roles), MappingProxyType(sections))


def load_policy(path: Path, form: PolicyFormat | None = None) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([f"{path}: cannot read the policy file ({type(exc).__name__})"]) from None
    return parse_policy(text, path, form)
