"""wsgi:app plus one route that crashes with the caller's token in the exception
message, for the log-redaction test under gunicorn."""

from __future__ import annotations

from flask import request

from wsgi import app


def _crash() -> str:
    raise RuntimeError("failed for " + request.headers.get("Authorization", ""))


app.add_url_rule("/test-crash", "test_crash", _crash)
