"""`admin-gateway check-config`: validate everything start-up validates, and say what would run.

Each subsystem contributes a `Check`: a function returning (ok, lines). The
command prints every section and fails if any check fails.
"""

from __future__ import annotations

from collections.abc import Callable

from config.settings import SPECS, Settings

Check = Callable[[Settings], tuple[bool, list[str]]]
CHECKS: list[tuple[str, Check]] = []


def check(title: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS.append((title, fn))
        return fn
    return register


@check("Settings")
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


def describe_configuration(settings: Settings) -> tuple[bool, str]:
    out: list[str] = []
    all_ok = True
    for title, fn in CHECKS:
        try:
            ok, lines = fn(settings)
        except Exception as exc:  # a check that crashes is a failed check, not a traceback
            ok, lines = False, [f"{type(exc).__name__}: {exc}"]
        all_ok = all_ok and ok
        out.append(f"== {title}: {'ok' if ok else 'PROBLEM'}")
        out.extend(f"   {line}" for line in lines)
    return all_ok, "\n".join(out)
