"""WSGI entry point for gunicorn: `gunicorn -c config/gunicorn.conf.py wsgi:app`."""

from __future__ import annotations

from dotenv import load_dotenv

from app import create_app

# A .env file beside the process fills in what the environment does not set.
load_dotenv(override=False)
app = create_app()
