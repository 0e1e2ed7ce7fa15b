"""`admin-gateway policy check|explain`, and the Policy section of `check-config`.

    admin-gateway policy check [--file config/policy.toml]
    admin-gateway policy explain --roles "Support Reader" PATCH /api/v2/users/auth0%7C1 \\
        --field blocked

`explain` answers with the same decision function the gateway uses
(app/auth/access.py): the matched operation, every permission needed (and for
which field), which of them the caller has, and the verdict. It exits 0 when
allowed, 1 when refused, 2 on bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from app.catalog import API_PREFIX, BY_ROUTE, PERMISSIONS, Operation
from app.commands import Command
from app.guards import approvals, stepup
from app.guards.scope import ORG_UNRESTRICTED
from app.policy_format import load as load_policy
from config.settings import DEFAULT_POLICY_FILE, Settings

from .access import decide
from .extension import TRUST_SCOPE_WARNING
from .policy import Policy, PolicyError

_ROUTES = Map([Rule(rule, methods=[method]) for rule, method in BY_ROUTE])


def match_operation(method: str, path: str) -> Operation:
    """The catalog operation a request would reach (the same rules Flask routes with)."""
    path = path.split("?", 1)[0]
    if not path.startswith((API_PREFIX + "/", "/gateway/")):
        path = API_PREFIX + "/" + path.lstrip("/")
    rule, _ = _ROUTES.bind("gateway.invalid").match(path, method.upper(), return_rule=True)
    return BY_ROUTE[(rule.rule, method.upper())]


def _policy_file(args: argparse.Namespace) -> Path:
    if args.file:
        return Path(args.file)
    return Path(os.environ.get("POLICY_FILE") or DEFAULT_POLICY_FILE)


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check_parser = sub.add_parser("check", help="validate the policy file")
    explain = sub.add_parser("explain", help="explain the decision for one request")
    for each in (check_parser, explain):
        each.add_argument("--file", help="policy file (default: POLICY_FILE or "
                                         "config/policy.toml)")
    explain.add_argument("--permissions", action="append",
                         help="comma-separated permissions the caller's token carries")
    explain.add_argument("--roles", action="append",
                         help="comma-separated role names (from the roles claim)")
    explain.add_argument("--field", action="append", default=[],
                         help="a top-level body field the request sets (repeatable)")
    explain.add_argument("method", help="HTTP method, e.g. PATCH")
    explain.add_argument("path", help="gateway path, e.g. /api/v2/users/auth0%%7C123")


def _load(args: argparse.Namespace) -> Policy | None:
    try:
        return load_policy(_policy_file(args))
    except PolicyError as exc:
        print("admin-gateway policy: the policy is invalid:", file=sys.stderr)
        for line in exc.problems:
            print(f"  - {line}", file=sys.stderr)
        return None


def _check(policy: Policy) -> int:
    print(f"{policy.path}: ok")
    for line in describe_policy(policy):
        print(f"  {line}")
    return 0


def _explain(args: argparse.Namespace, policy: Policy) -> int:
    try:
        operation = match_operation(args.method, args.path)
    except MethodNotAllowed:
        print(f"no catalog operation for {args.method.upper()} {args.path}: the gateway "
              "answers 405 (default deny)", file=sys.stderr)
        return 2
    except NotFound:
        print(f"no catalog operation for {args.path}: the gateway answers 404 (default deny)",
              file=sys.stderr)
        return 2
    from_token = _split(args.permissions)
    roles = _split(args.roles)
    ignored = [p for p in from_token if p not in PERMISSIONS]
    unknown_roles = [r for r in roles if r not in policy.roles]
    held = ({p for p in from_token if p in PERMISSIONS} | policy.permissions_for(roles))
    decision = decide(operation, held, args.field)

    print(f"operation   {operation.method} {operation.gateway_path}  "
          f"({operation.operation_id}: {operation.summary})")
    print(f"caller      roles: {', '.join(roles) or '-'}; permissions: "
          f"{', '.join(sorted(held)) or '-'}")
    if ignored:
        print(f"            ignored (not gateway permissions): {', '.join(ignored)}")
    if unknown_roles:
        print(f"            roles the policy does not know (grant nothing): "
              f"{', '.join(unknown_roles)}")
    print("needed")
    for permission in sorted(decision.required):
        verdict = "has" if permission in held else "MISSING"
        print(f"  {permission:28} {decision.reason_for(permission):28} {verdict}")
    for name in decision.refused_fields:
        print(f"refused     field {name}: {operation.forbidden_fields[name]}")
    if decision.missing:
        print(f"verdict     DENY 403: missing {', '.join(decision.missing)}")
    elif decision.refused_fields:
        print(f"verdict     DENY 400: field {decision.refused_fields[0]} is never accepted")
    else:
        print("verdict     ALLOW")
        _then(policy, operation, args.field)
    return 0 if decision.allowed else 1


def _then(policy: Policy, operation: Operation, fields: list[str]) -> None:
    """What else an allowed request meets: the plan, org scope, step-up and approval."""
    if operation.enterprise_only:
        print("plan        Auth0 Enterprise only: refused with 403 plan-required unless "
              "MGMT_PLAN is enterprise, enterprise-nonprod or custom")
    if operation.org_param:
        print(f"org scope   only the organization of the caller's login (org_id) unless it "
              f"holds {ORG_UNRESTRICTED}")
    step_up = policy.sections.get(stepup.SECTION)
    if isinstance(step_up, stepup.StepUpConfig) and step_up.applies(operation, fields):
        strength = " or ".join([f"acr {v}" for v in step_up.acr_values]
                               + [f"amr {v}" for v in step_up.amr_values])
        print(f"step-up     a login at most {step_up.max_age} s old"
              f"{' with ' + strength if strength else ''} (else 401 "
              f"insufficient_user_authentication)")
    held = policy.sections.get(approvals.SECTION)
    if isinstance(held, approvals.ApprovalsConfig) and operation.is_write \
            and held.applies(operation, fields):
        print(f"approval    held (202) until {held.approvers} other holder(s) of "
              f"{held.approver_permission} approve, within {held.expires_in} s")


def policy_command(args: argparse.Namespace) -> int:
    policy = _load(args)
    if policy is None:
        return 2
    if args.action == "check":
        return _check(policy)
    return _explain(args, policy)


def describe_policy(policy: Policy) -> list[str]:
    lines = []
    for role in policy.roles.values():
        lines.append(f'role "{role.name}": {", ".join(sorted(role.permissions)) or "(nothing)"}')
    for name in policy.sections:
        lines.append(f"section [{name}]")
    return lines


POLICY_COMMAND = Command("policy", "policy file: check | explain METHOD PATH", policy_command,
                         _arguments)


def policy_check(settings: Settings) -> tuple[bool, list[str]]:
    try:
        policy = load_policy(settings.policy_file)
    except PolicyError as exc:
        return False, exc.problems
    lines = [f"{policy.path}: {len(policy.roles)} role(s)", *describe_policy(policy)]
    lines.append("permissions from: the `permissions` claim, roles in "
                 f"{settings.roles_claim} via this policy"
                 + (", and `scope` (TRUST_SCOPE_CLAIM)" if settings.trust_scope_claim else ""))
    if settings.trust_scope_claim:
        lines.append("WARNING: " + TRUST_SCOPE_WARNING)
    if settings.allow_machine_callers:
        lines.append("machine (client-credentials) callers are accepted (ALLOW_MACHINE_CALLERS)")
    return True, lines
