"""The installed `admin-gateway` command: the runtime's subcommands (app/cli.py) plus the
development tools.

    admin-gateway demo            emulator + Redis + gateway on loopback, curl lines to paste
    admin-gateway emulator ...    the Auth0 tenant emulator (serve, token)
"""

from __future__ import annotations

import argparse
import os
import sys

from app import cli
from app.commands import Command


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8080")),
                        help="gateway port on 127.0.0.1 (default 8080, env DEMO_PORT)")
    parser.add_argument("--emulator-port", type=int, default=0, help="default: a free port")


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(gateway_port=args.port, emulator_port=args.emulator_port)


def _emulator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER,
                        help="[serve] --port N | token --user U (serve is the default)")


def _emulator(args: argparse.Namespace) -> int:
    from emulator.cli import main as emulator_main

    rest = list(args.rest)
    if not rest or (rest[0].startswith("-") and rest[0] not in ("-h", "--help")):
        rest.insert(0, "serve")  # `admin-gateway emulator --port N` serves
    return int(emulator_main(rest))


COMMANDS: tuple[Command, ...] = (
    *cli.COMMANDS,
    Command("demo", "run the emulator, Redis and the gateway on loopback", _demo,
            _demo_arguments),
    Command("emulator", "the Auth0 tenant emulator (serve, token)", _emulator,
            _emulator_arguments),
)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["emulator"]:
        # Everything after `emulator` is the emulator's own command line (argparse would
        # take `--port` for one of ours).
        return _emulator(argparse.Namespace(rest=argv[1:]))
    return cli.main(argv, COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
