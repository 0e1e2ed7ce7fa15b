"""Extension points of the facade's request pipeline.

A `Call` is one facade request after authentication and validation. Guards run
before the upstream call (rate limits, delegated scope, escalation checks) and
raise a Problem to stop it, or, when they had to fetch exactly what the caller
asked for anyway, set `status` and `response` to answer it without a second
Management API call; observers see every finished call, successful or
not (the audit trail). Both are plain lists so that each guardrail module
registers itself without the facade knowing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from config.settings import TierConfig

from ..auth.principal import Principal
from ..catalog import Operation
from ..schemas.requests import ValidatedRequest


@dataclass
class Call:
    operation: Operation
    principal: Principal
    request: ValidatedRequest
    tier: TierConfig | None = None
    status: int | None = None
    response: Any = None
    problem: str | None = None  # the problem title when the call failed
    notes: dict[str, Any] = field(default_factory=dict)


Guard = Callable[[Call], None]
Observer = Callable[[Call], None]

GUARDS: list[Guard] = []
OBSERVERS: list[Observer] = []
