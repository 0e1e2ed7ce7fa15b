"""The runtime's own endpoints (/readyz, /metrics), on one blueprint.

They answer without authentication and outside rate limits: orchestrators and
scrapers call them without tokens, and a probe that could be rate-limited
would take healthy instances out of service. `PUBLIC_ENDPOINTS` lists every
endpoint that must stay open, for whoever installs authentication and limits.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("runtime", __name__)

PUBLIC_ENDPOINTS = frozenset({"health.healthz", "runtime.readyz", "runtime.metrics"})
