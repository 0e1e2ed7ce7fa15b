"""The `admin-gateway` command: the runtime's subcommands.

    admin-gateway check-config    validate settings and policy, show what would run
    admin-gateway settings        the settings table (markdown)
    admin-gateway gen-key         a fresh TOKEN_CACHE_KEY
    admin-gateway policy ...      check the policy file, explain a decision
    admin-gateway tokens ...      the shared Management token cache
    admin-gateway tenant ...      connect an Auth0 tenant: plan, apply, check

The installed command adds the development tools (`demo`, `emulator`):
see devtools/cli.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dotenv import load_dotenv

from config.settings import settings_markdown

from .auth.cli import POLICY_COMMAND
from .commands import Command, load_or_explain
from .management.cli import TOKENS_COMMAND
from .provisioning.cli import TENANT_COMMAND


def _settings(args: argparse.Namespace) -> int:
    print(settings_markdown())
    return 0


def _gen_key(args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return 0


def _check_config(args: argparse.Namespace) -> int:
    from .checks import describe_configuration

    settings = load_or_explain()
    if settings is None:
        return 2
    ok, report = describe_configuration(settings)
    print(report)
    if not ok:
        return 2
    if getattr(args, "live", False):
        # The live tenant against the plan, as `admin-gateway tenant check` (0 / 1 drift / 2).
        from .policy_format import load as load_policy
        from .provisioning.cli import run_check
        from .provisioning.plan import build_plan

        print("== Live tenant")
        return run_check(settings, build_plan(settings, load_policy(settings.policy_file)))
    return 0


def _check_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--live", action="store_true",
                        help="also read the live tenant and report drift from the plan "
                             "(as `admin-gateway tenant check`)")


COMMANDS: tuple[Command, ...] = (
    Command("check-config", "validate settings and policy; print what would run "
            "(--live: and drift of the live tenant)", _check_config, _check_config_arguments),
    Command("gen-key", "print a fresh TOKEN_CACHE_KEY (Fernet)", _gen_key),
    POLICY_COMMAND,
    Command("settings", "print the settings table (markdown)", _settings),
    TENANT_COMMAND,
    TOKENS_COMMAND,
)


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="admin-gateway",
                                     description="A least-privilege facade over the Auth0 "
                                                 "Management API v2.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in sorted(commands, key=lambda c: c.name):
        command_parser = sub.add_parser(command.name, help=command.help)
        command.arguments(command_parser)
        command_parser.set_defaults(handler=command.handler)
    return parser


def main(argv: list[str] | None = None, commands: Sequence[Command] = COMMANDS) -> int:
    load_dotenv(override=False)
    args = build_parser(commands).parse_args(sys.argv[1:] if argv is None else argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
