"""One facade request as it moves through the pipeline (app/api/facade.py).

Every step reads and writes typed fields here; nothing a later step needs is
kept anywhere else, and the audit event is built from the finished `Call`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.settings import TierConfig

from .auth.principal import Principal
from .catalog import Operation
from .schemas.requests import ValidatedRequest


@dataclass(frozen=True)
class Restriction:
    """The users a caller may see: every (user field, value) clause must hold.

    A clause holds as the search Auth0 runs reads it (`field:"value"`): some value at the
    path — lists fan out, as Elasticsearch indexes arrays — is the same words. Checking any
    narrower would let users the search counted but the check hides leak through counts."""

    clauses: tuple[tuple[str, str], ...]

    def admits(self, user: Any) -> bool:
        return isinstance(user, dict) and all(
            any(_same_words(value, expected) for value in _leaves(user, field.split(".")))
            for field, expected in self.clauses)


def _leaves(value: Any, path: list[str]) -> list[Any]:
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item, path)]
    if not path:
        return [value]
    if not isinstance(value, dict):
        return []
    return _leaves(value.get(path[0]), path[1:])


def _same_words(value: Any, expected: str) -> bool:
    """Case-sensitive, as Auth0 searches metadata; numbers and booleans as their text."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (str, int, float)):
        text = str(value)
    else:
        return False
    return text.split() == expected.split()


def field_value(document: Any, dotted: str) -> Any:
    """`document["a"]["b"]` for "a.b"; None where the path does not exist."""
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@dataclass
class Call:
    operation: Operation
    principal: Principal
    request: ValidatedRequest
    fields: tuple[str, ...]  # the body's top-level field names
    # The caller sent `Cache-Control: no-cache`: no answer from the read cache.
    fresh: bool = False
    # Delegated scope: None when the caller may see every user.
    restriction: Restriction | None = None
    # The scope check added app_metadata to `fields=`: remove it from the answer.
    strip_scope_field: bool = False
    # The target user exists but is outside the caller's scope (answered as a 404).
    out_of_scope: bool = False
    tier: TierConfig | None = None
    # The answer: set by the Management call, or by a step that already fetched it.
    status: int | None = None
    response: Any = None
    # "owner" operations: the user who owns the session or refresh token acted on.
    owner: str | None = None
    # Four-eyes approvals: the request this call was held as, or executes, and who approved.
    approval_id: str | None = None
    approved_by: tuple[str, ...] = ()

    @property
    def fresh_reads(self) -> bool:
        """Reads a check relies on before a write never come from the read cache."""
        return self.fresh or self.operation.is_write

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def target_user(self) -> str | None:
        """The id of the user this call acts on (path parameter, body field, or the owner
        of the resource acted on)."""
        if self.operation.owner_lookup is not None:
            return self.owner
        name = self.operation.target_user
        if name is None:
            return None
        if name in self.request.path:
            return self.request.path[name]
        value = (self.request.body or {}).get(name)
        return value if isinstance(value, str) and value else None

    @property
    def body_users(self) -> tuple[str, ...]:
        """The user ids a body lists (`members`), for operations that act on several."""
        name = self.operation.body_users
        values = (self.request.body or {}).get(name) if name else None
        if not isinstance(values, list):
            return ()
        return tuple(v for v in values if isinstance(v, str))

    @property
    def acted_users(self) -> tuple[str, ...]:
        """Every user the call acts on, once each: the target, any the body lists, and the
        account an unlink restores."""
        target = self.target_user
        template = self.operation.secondary_user
        secondary = (template.format(**self.request.path),) if template else ()
        return tuple(dict.fromkeys(((target,) if target else ()) + self.body_users
                                   + secondary))
