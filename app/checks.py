"""`admin-gateway check-config`: validate everything start-up validates, and say what would run.

Each subsystem contributes a check: a function returning (ok, lines), listed
in `CHECKS`. The command prints every section and fails if any check fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from config.settings import SPECS, Settings

from .auth.cli import policy_check
from .egress import describe_egress
from .guards.budget import describe_budget
from .management.tiers import describe_tiers

Check = Callable[[Settings], tuple[bool, list[str]]]


def _settings(settings: Settings) -> tuple[bool, list[str]]:
    lines = []
    for spec in SPECS:
        value = getattr(settings, spec.attr, None)
        shown = "********" if spec.secret else value
        lines.append(f"{spec.env} = {shown}")
    for tier in settings.tiers:
        lines.append(f"tier {tier.name}: client {tier.client_id}, scopes "
                     f"{' '.join(sorted(tier.scopes))}")
    return True, lines


CHECKS: tuple[tuple[str, Check], ...] = (
    ("Settings", _settings),
    ("Policy", policy_check),
    ("Credential tiers", describe_tiers),
    ("Management API budget", describe_budget),
    ("Egress to Auth0", describe_egress),
)


def describe_configuration(settings: Settings,
                           checks: Sequence[tuple[str, Check]] = CHECKS) -> tuple[bool, str]:
    out: list[str] = []
    all_ok = True
    for title, fn in checks:
        try:
            ok, lines = fn(settings)
        except Exception as exc:  # a check that crashes is a failed check, not a traceback
            ok, lines = False, [f"{type(exc).__name__}: {exc}"]
        all_ok = all_ok and ok
        out.append(f"== {title}: {'ok' if ok else 'PROBLEM'}")
        out.extend(f"   {line}" for line in lines)
    return all_ok, "\n".join(out)
