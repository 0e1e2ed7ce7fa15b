"""Imports the modules whose `@command`s extend the `admin-gateway` CLI."""

from .auth import cli as auth_cli  # noqa: F401
from .management import cli as management_cli  # noqa: F401
