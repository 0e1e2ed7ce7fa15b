"""The `admin-gateway` command.

    admin-gateway demo            emulator + Redis + gateway on loopback, curl lines to paste
    admin-gateway check-config    validate settings and policy, show what would run
    admin-gateway settings        the settings table (markdown)
    admin-gateway gen-key         a fresh TOKEN_CACHE_KEY
    admin-gateway emulator ...    the Auth0 tenant emulator (serve, token)

Further commands (tokens, policy) register themselves through `COMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from dotenv import load_dotenv

from config.settings import ConfigError, Settings, load_settings, settings_markdown

Handler = Callable[[argparse.Namespace], int]
# name -> (help, add_arguments, handler); modules append to it at import.
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(name: str, help_text: str,
            arguments: Callable[[argparse.ArgumentParser], None] = lambda p: None,
            ) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        COMMANDS[name] = (help_text, arguments, handler)
        return handler
    return register


def load_or_explain(environ: os._Environ[str] | dict[str, str] | None = None) -> Settings | None:
    """Settings from the environment, or None after printing every problem."""
    try:
        return load_settings(os.environ if environ is None else environ)
    except ConfigError as exc:
        print("admin-gateway: configuration problems:", file=sys.stderr)
        for line in exc.problems:
            print(f"  - {line}", file=sys.stderr)
        return None


@command("settings", "print the settings table (markdown)")
def _settings(args: argparse.Namespace) -> int:
    print(settings_markdown())
    return 0


@command("gen-key", "print a fresh TOKEN_CACHE_KEY (Fernet)")
def _gen_key(args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return 0


@command("check-config", "validate settings and policy; print what would run")
def _check_config(args: argparse.Namespace) -> int:
    from .checks import describe_configuration

    settings = load_or_explain()
    if settings is None:
        return 2
    ok, report = describe_configuration(settings)
    print(report)
    return 0 if ok else 2


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8080")),
                        help="gateway port on 127.0.0.1 (default 8080, env DEMO_PORT)")
    parser.add_argument("--emulator-port", type=int, default=0, help="default: a free port")


@command("demo", "run the emulator, Redis and the gateway on loopback", _demo_arguments)
def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(gateway_port=args.port, emulator_port=args.emulator_port)


def _emulator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER,
                        help="[serve] --port N | token --user U (serve is the default)")


@command("emulator", "the Auth0 tenant emulator (serve, token)", _emulator_arguments)
def _emulator(args: argparse.Namespace) -> int:
    from emulator.cli import main as emulator_main

    rest = list(args.rest)
    if not rest or (rest[0].startswith("-") and rest[0] not in ("-h", "--help")):
        rest.insert(0, "serve")  # `admin-gateway emulator --port N` serves
    return int(emulator_main(rest))


def _load_plugins() -> None:
    # Imported for their @command registrations.
    from . import cli_commands  # noqa: F401


def build_parser() -> argparse.ArgumentParser:
    _load_plugins()
    parser = argparse.ArgumentParser(prog="admin-gateway", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, arguments, handler) in sorted(COMMANDS.items()):
        command_parser = sub.add_parser(name, help=help_text)
        arguments(command_parser)
        command_parser.set_defaults(handler=handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    load_dotenv(override=False)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["emulator"]:
        # Everything after `emulator` is the emulator's own command line (argparse would
        # take `--port` for one of ours).
        return _emulator(argparse.Namespace(rest=argv[1:]))
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
