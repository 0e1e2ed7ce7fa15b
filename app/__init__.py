"""admin-gateway: a least-privilege facade over the Auth0 Management API v2."""

from __future__ import annotations

import os

from flask import Flask

from config.settings import Settings, load_settings

# Importing audit and guards registers their policy sections before auth loads the policy.
from . import audit, auth, errors, guards, management, observability, redis_conn, runtime
from .strict_json import StrictJSONProvider


def create_app(settings: Settings | None = None) -> Flask:
    """The one factory. Without `settings`, they are read from the environment."""
    settings = settings or load_settings(os.environ)
    observability.configure_logging(settings.log_level, settings.log_format)

    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    # Flask answers 413 for larger bodies before any view reads them.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json = StrictJSONProvider(app)  # NaN, 1e999, deep nesting: 400, not 500

    observability.init_app(app)
    errors.init_app(app)
    redis_conn.init_app(app, settings)
    runtime.init_app(app, settings)
    auth.init_app(app, settings)
    management.init_app(app, settings)

    from .api import audit as audit_api
    from .api import facade, gateway, health, openapi

    app.register_blueprint(health.bp)
    app.register_blueprint(gateway.bp)
    app.register_blueprint(openapi.bp)
    facade.init_app(app)
    guards.init_app(app, settings)
    audit.init_app(app, settings)
    app.register_blueprint(audit_api.bp)
    return app
