"""The gateway's policy file format: the roles, plus the sections the guardrails own.

Named here, explicitly, so that the app factory and the CLI load the same
format and nothing depends on which modules happen to be imported.
"""

from __future__ import annotations

from pathlib import Path

from . import audit
from .auth.policy import Policy, PolicyFormat, load_policy, parse_policy
from .guards import approvals, escalation, ratelimit, scope, stepup

POLICY_FORMAT = PolicyFormat(
    sections={
        ratelimit.SECTION: ratelimit.parse_section,  # [limits]
        scope.SECTION: scope.parse_section,  # [scope] and [[scope.rules]]
        escalation.SECTION: escalation.parse_section,  # [protection]
        audit.SECTION: audit.parse_section,  # [audit]
        stepup.SECTION: stepup.parse_section,  # [step_up]
        approvals.SECTION: approvals.parse_section,  # [approvals]
    },
    role_keys={escalation.ROLE_KEY: escalation.parse_assignable,
               escalation.PERMISSION_KEY: escalation.parse_assignable_permissions},
)


def load(path: Path) -> Policy:
    """The policy file, validated with every section; PolicyError lists every problem."""
    return load_policy(path, POLICY_FORMAT)


def parse(text: str, path: Path) -> Policy:
    return parse_policy(text, path, POLICY_FORMAT)
