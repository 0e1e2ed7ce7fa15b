"""WSGI entry point for gunicorn: `gunicorn -c config/gunicorn.conf.py wsgi:app`.

The only module that builds an app at import time. Bad settings stop the
worker with one line per problem and exit code 4, which gunicorn's arbiter
treats as "application failed to load" and stops, instead of respawning
workers forever.
"""

from __future__ import annotations

import sys

from dotenv import load_dotenv

from app import create_app
from config.settings import ConfigError

# A .env file beside the process fills in what the environment does not set.
load_dotenv(override=False)
try:
    app = create_app()
except ConfigError as exc:
    print("admin-gateway: configuration problems:\n  - " + "\n  - ".join(exc.problems),
          file=sys.stderr)
    sys.exit(4)  # gunicorn.arbiter.Arbiter.APP_LOAD_ERROR
