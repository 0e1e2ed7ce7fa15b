"""Step-up authentication (RFC 9470), the facade's `stepup.check` step: operations the
policy names need a recent, strong login, else a 401 challenge the panel answers by
logging in again with `acr_values` / `max_age`.

    [step_up]
    operations = ["delete_users_by_id", "delete_authenticators"]   # operation ids
    permissions = ["users:update_app_metadata"]   # any call needing one of these
    max_age = 300                                  # seconds since the last login
    acr_values = ["http://schemas.openid.net/pape/policies/2007/06/multi-factor"]
    amr_values = ["mfa"]                           # either an acr or an amr value suffices

Runs right after authorization, before validation and before any call to Auth0. The
token's `auth_time` / `acr` / `amr` come from the standard claims or the namespaced ones
of AUTH_TIME_CLAIM / ACR_CLAIM / AMR_CLAIM (app/auth/principal.py).

Design: docs/guardrails.md, "Step-up authentication".
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..auth.policy import Locator
from ..auth.principal import Principal
from ..catalog import NAMED, PERMISSIONS, Operation
from ..errors import Problem, bearer_challenge
from ..state import policy_section

SECTION = "step_up"
ERROR = "insufficient_user_authentication"  # RFC 9470 §3
DEFAULT_MAX_AGE = 300
MFA_ACR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
KEYS = ("operations", "permissions", "max_age", "acr_values", "amr_values")


@dataclass(frozen=True)
class StepUpConfig:
    operations: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    max_age: int | None = DEFAULT_MAX_AGE
    acr_values: tuple[str, ...] = ()
    amr_values: tuple[str, ...] = ()

    def applies(self, operation: Operation, fields: Iterable[str]) -> bool:
        return (operation.operation_id in self.operations
                or bool(operation.required_permissions(fields) & self.permissions))

    def satisfied_by(self, principal: Principal, now: float) -> str | None:
        """None when the caller's login satisfies the rule, else what is missing."""
        if self.max_age is not None:
            if principal.auth_time is None:
                return "Your token does not say when you logged in"
            if now - principal.auth_time > self.max_age:
                return f"Your last login is more than {self.max_age} seconds old"
        if self.acr_values or self.amr_values:
            strong = (principal.acr in self.acr_values
                      or bool(set(principal.amr) & set(self.amr_values)))
            if not strong:
                return "Your login did not use a second factor"
        return None


def _strings(raw: Any) -> tuple[str, ...] | None:
    if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() and " " not in v
                                            for v in raw):
        return None
    return tuple(dict.fromkeys(raw))


def parse_section(raw: Any, locate: Locator, problems: list[str]) -> StepUpConfig:
    def where(key: str | None = None) -> str:
        return locate.where(section=(SECTION,), key=key) if key else \
            locate.where(section=(SECTION,))

    if not isinstance(raw, dict):
        problems.append(f"{locate.where(key=SECTION)}: [step_up] must be a table")
        return StepUpConfig()
    unknown = set(raw) - set(KEYS)
    if unknown:
        problems.append(f"{where()}: [step_up]: unknown key(s) {', '.join(sorted(unknown))}; "
                        f"allowed: {', '.join(KEYS)}")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("operations", "permissions", "acr_values", "amr_values"):
        value = _strings(raw.get(key, []))
        if value is None:
            problems.append(f"{where(key)}: [step_up] {key} must be a list of names "
                            f"(no spaces)")
            value = ()
        lists[key] = value
    for name in lists["operations"]:
        if name not in NAMED:
            problems.append(f"{locate.where(section=(SECTION,), value=name)}: [step_up] "
                            f"unknown operation {name!r} (README, Endpoints)")
    for name in lists["permissions"]:
        if name not in PERMISSIONS:
            problems.append(f"{locate.where(section=(SECTION,), value=name)}: [step_up] "
                            f"unknown permission {name!r}")
    max_age = raw.get("max_age", DEFAULT_MAX_AGE)
    if isinstance(max_age, bool) or not isinstance(max_age, int) or not 0 < max_age <= 86400:
        problems.append(f"{where('max_age')}: [step_up] max_age must be seconds between 1 "
                        f"and 86400")
        max_age = DEFAULT_MAX_AGE
    if not (lists["operations"] or lists["permissions"]):
        problems.append(f"{where()}: [step_up] names no operations and no permissions: it "
                        f"would protect nothing")
    return StepUpConfig(frozenset(lists["operations"]), frozenset(lists["permissions"]),
                        max_age, lists["acr_values"], lists["amr_values"])


def config() -> StepUpConfig | None:
    found = policy_section(SECTION, None)
    assert found is None or isinstance(found, StepUpConfig)
    return found


def challenge(rule: StepUpConfig, reason: str) -> Problem:
    """401 with RFC 9470's challenge: what the client must ask the authorization server."""
    detail = (f"{reason}: this operation needs a recent login"
              + (" with a second factor" if rule.acr_values or rule.amr_values else "")
              + ". Log in again and retry.")
    header = bearer_challenge(ERROR, detail)
    extra: dict[str, Any] = {}
    if rule.acr_values:
        header += f', acr_values="{" ".join(rule.acr_values)}"'
        extra["acr_values"] = " ".join(rule.acr_values)
    if rule.max_age is not None:
        header += f", max_age={rule.max_age}"
        extra["max_age"] = rule.max_age
    return Problem(401, detail, title="Unauthorized", slug="insufficient-user-authentication",
                   headers={"WWW-Authenticate": header}, extra=extra)


def check(operation: Operation, fields: Iterable[str], principal: Principal) -> None:
    """Pipeline step (after authorize): a 401 challenge unless the login is fresh and
    strong enough for this operation and these body fields."""
    rule = config()
    if rule is None or not rule.applies(operation, fields):
        return
    reason = rule.satisfied_by(principal, time.time())
    if reason is not None:
        raise challenge(rule, reason)
