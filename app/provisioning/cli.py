"""`admin-gateway tenant plan|apply|check`: connect a real Auth0 tenant (docs/provisioning.md).

Credentials come from the environment, never from the command line (where
`ps` would show them): `tenant apply` uses AUTH0_PROVISIONING_TOKEN, or
AUTH0_PROVISIONING_CLIENT_ID + AUTH0_PROVISIONING_CLIENT_SECRET (a one-time
bootstrap application with the scopes `tenant plan` lists); `tenant check`
uses TENANT_CHECK_CLIENT_ID + TENANT_CHECK_CLIENT_SECRET (the read-only
application apply creates), else the provisioning credential.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from cryptography.fernet import Fernet

from app.commands import Command, load_or_explain
from app.policy_format import load as load_policy
from config.settings import Secret, Settings

from .plan import BOOTSTRAP_SCOPES, TenantPlan, build_plan
from .render import FORMATS
from .sync import apply, check, settings_lines
from .tenant_api import Credential, ProvisioningError, TenantApi

PROVISIONING_PREFIX = "AUTH0_PROVISIONING"
CHECK_PREFIX = "TENANT_CHECK"


def _arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    plan = sub.add_parser("plan", help="print what the tenant needs (read-only, no network)")
    plan.add_argument("--format", choices=sorted(FORMATS), default="table",
                      help="table (default), json, or terraform (auth0/auth0 provider 1.x)")
    apply = sub.add_parser("apply", help="create or update the plan's objects in the tenant")
    apply.add_argument("--dry-run", action="store_true",
                       help="read the tenant and print the calls apply would send; send none")
    apply.add_argument("--output", metavar="FILE",
                       help="write the resulting settings (with secrets) to FILE, mode 0600")
    apply.add_argument("--show-secrets", action="store_true",
                       help="print the settings with their secrets on stdout")
    apply.add_argument("--wait-budget", type=float, default=60.0, metavar="SECONDS",
                       help="longest total wait on Auth0 429s per call (default 60)")
    sub.add_parser("check", help="compare the live tenant with the plan: exit 0 clean, "
                                 "1 drift, 2 error")


def provisioning_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment, with stand-ins for what a tenant that is not provisioned yet lacks.

    Planning needs the tenant, the audience, the claims and the policy; the credential
    tiers and the cache key are what `tenant apply` produces, so they may be missing.
    """
    env = dict(environ)
    if not env.get("MGMT_TIERS", "").strip():
        env.update({"MGMT_TIERS": "unprovisioned", "MGMT_TIER_UNPROVISIONED_CLIENT_ID": "-",
                    "MGMT_TIER_UNPROVISIONED_CLIENT_SECRET": "-",
                    "MGMT_TIER_UNPROVISIONED_SCOPES": "read:users"})
    if not env.get("TOKEN_CACHE_KEY", "").strip():
        env["TOKEN_CACHE_KEY"] = Fernet.generate_key().decode()
    return env


def load_plan(environ: Mapping[str, str] | None = None) -> tuple[Settings, TenantPlan] | None:
    settings = load_or_explain(provisioning_environment(os.environ if environ is None
                                                        else environ))
    if settings is None:
        return None
    return settings, build_plan(settings, load_policy(settings.policy_file))


def tenant(args: argparse.Namespace) -> int:
    loaded = load_plan()
    if loaded is None:
        return 2
    settings, plan = loaded
    if args.action == "plan":
        sys.stdout.write(FORMATS[args.format](plan))
        return 0
    if args.action == "apply":
        return _apply(args, settings, plan)
    return run_check(settings, plan)


def _credential(*prefixes: str) -> Credential | None:
    env = os.environ
    for prefix in prefixes:
        token = env.get(f"{prefix}_TOKEN", "").strip()
        if token:
            return Credential(token=Secret(token))
        client_id = env.get(f"{prefix}_CLIENT_ID", "").strip()
        secret = env.get(f"{prefix}_CLIENT_SECRET", "").strip()
        if client_id and secret:
            return Credential(client_id=client_id, client_secret=Secret(secret))
    return None


def _write_private(path: str, text: str) -> None:
    """Create (or replace) FILE readable by its owner only, before any secret is written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _apply(args: argparse.Namespace, settings: Settings, plan: TenantPlan) -> int:
    credential = _credential(PROVISIONING_PREFIX)
    if credential is None:
        print("admin-gateway tenant apply: set AUTH0_PROVISIONING_TOKEN, or "
              "AUTH0_PROVISIONING_CLIENT_ID and AUTH0_PROVISIONING_CLIENT_SECRET (scopes: "
              f"{' '.join(BOOTSTRAP_SCOPES)})", file=sys.stderr)
        return 2
    api = TenantApi(settings, credential, dry_run=args.dry_run, wait_budget=args.wait_budget)
    try:
        outcome = apply(api, plan)
    except ProvisioningError as exc:
        print(f"admin-gateway tenant apply: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(f"dry run: {len(api.writes)} call(s) would be sent")
        for write in api.writes:
            print(f"  {write.describe()}")
        return 0
    for change in outcome.changes or ["nothing to change: the tenant matches the plan"]:
        print(change)
    for note in outcome.notes:
        print(f"note: {note}")
    if args.output:
        _write_private(args.output, "\n".join(settings_lines(plan, outcome, secrets=True))
                       + "\n")
        print(f"settings with secrets written to {args.output} (mode 0600)")
    print("\n".join(settings_lines(plan, outcome, secrets=args.show_secrets)))
    return 0


def run_check(settings: Settings, plan: TenantPlan) -> int:
    credential = _credential(CHECK_PREFIX, PROVISIONING_PREFIX)
    if credential is None:
        print("admin-gateway tenant check: set TENANT_CHECK_CLIENT_ID and "
              "TENANT_CHECK_CLIENT_SECRET (written by `tenant apply`)", file=sys.stderr)
        return 2
    try:
        drift = check(TenantApi(settings, credential), plan)
    except ProvisioningError as exc:
        print(f"admin-gateway tenant check: {exc}", file=sys.stderr)
        return 2
    if not drift:
        print(f"tenant {plan.domain}: no drift from the plan")
        return 0
    print(f"tenant {plan.domain}: {len(drift)} drift(s) from the plan")
    for line in drift:
        print(f"  - {line}")
    return 1


TENANT_COMMAND = Command("tenant", "connect an Auth0 tenant: plan | apply | check", tenant,
                         _arguments)
