"""The HTTP runtime around the gateway: proxy trust, CORS, security headers,
readiness and the metrics endpoint. `init_app` wires them all into one app.
"""

from __future__ import annotations

from flask import Flask

from config.settings import Settings

# Importing readiness and metrics_endpoint adds /readyz and /metrics to `bp`.
from . import cors, metrics_endpoint, proxy, readiness, security_headers  # noqa: F401
from .blueprint import PUBLIC_ENDPOINTS, bp
from .probes import ProbeResult, standard_probes
from .readiness import register_probe

__all__ = ["PUBLIC_ENDPOINTS", "ProbeResult", "init_app", "register_probe"]


def init_app(app: Flask, settings: Settings) -> None:
    proxy.init_app(app, settings)
    security_headers.init_app(app)
    cors.init_app(app, settings)
    readiness.init_app(app, standard_probes(app, settings))
    app.register_blueprint(bp)
