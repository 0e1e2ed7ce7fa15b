"""Adding to what a user, role or organization holds: role ids, members, permissions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def add_missing(held: list[T], items: Iterable[T]) -> None:
    """Append each item ``held`` lacks, in order; one already there stays where it is."""
    for item in items:
        if item not in held:
            held.append(item)
