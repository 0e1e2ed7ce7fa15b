"""What one `admin-gateway` subcommand is; `app/cli.py` lists them explicitly."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from config.settings import ConfigError, Settings, load_settings

Handler = Callable[[argparse.Namespace], int]


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """A subcommand without options."""


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: Handler
    arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments


def load_or_explain(environ: os._Environ[str] | dict[str, str] | None = None) -> Settings | None:
    """Settings from the environment, or None after printing every problem."""
    try:
        return load_settings(os.environ if environ is None else environ)
    except ConfigError as exc:
        print("admin-gateway: configuration problems:", file=sys.stderr)
        for line in exc.problems:
            print(f"  - {line}", file=sys.stderr)
        return None
