"""`admin-gateway tenant plan|apply|check`: connect a real Auth0 tenant (docs/provisioning.md)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from cryptography.fernet import Fernet

from app.commands import Command, load_or_explain
from app.policy_format import load as load_policy
from config.settings import Settings

from .plan import TenantPlan, build_plan
from .render import FORMATS


def _arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    plan = sub.add_parser("plan", help="print what the tenant needs (read-only, no network)")
    plan.add_argument("--format", choices=sorted(FORMATS), default="table",
                      help="table (default), json, or terraform (auth0/auth0 provider 1.x)")


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
    raise AssertionError(args.action)


TENANT_COMMAND = Command("tenant", "connect an Auth0 tenant: plan | apply | check", tenant,
                         _arguments)
