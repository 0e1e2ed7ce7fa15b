"""The authorization decision for one operation, as data: used by `authorize()` and by
`admin-gateway policy explain`, so the CLI can never disagree with the gateway."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.catalog import Operation


@dataclass(frozen=True)
class Decision:
    operation: Operation
    fields: tuple[str, ...]
    required: frozenset[str]
    missing: tuple[str, ...]  # permissions needed and not held (→ 403)
    refused_fields: tuple[str, ...]  # fields this operation never accepts (→ 400)

    @property
    def allowed(self) -> bool:
        return not self.missing and not self.refused_fields

    @property
    def status(self) -> int:
        return 403 if self.missing else 400 if self.refused_fields else 200

    def reason_for(self, permission: str) -> str:
        """Why `permission` is needed: the base permission or the fields that need it."""
        why = []
        if permission == self.operation.permission:
            why.append("base permission")
        touched = [f for f in self.fields if self.operation.field_permissions.get(f) == permission]
        if touched:
            why.append("field " + ", ".join(touched))
        return "; ".join(why)


def decide(operation: Operation, permissions: Iterable[str],
           body_fields: Iterable[str] = ()) -> Decision:
    fields = tuple(dict.fromkeys(body_fields))
    held = frozenset(permissions)
    required = operation.required_permissions(fields)
    return Decision(
        operation=operation,
        fields=fields,
        required=required,
        missing=tuple(sorted(required - held)),
        refused_fields=tuple(f for f in fields if f in operation.forbidden_fields),
    )
