"""admin-gateway: a least-privilege facade over the Auth0 Management API v2."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from flask import Flask

from config.settings import Settings, load_settings

from . import (
    audit,
    auth,
    errors,
    management,
    observability,
    policy_format,
    redis_conn,
    runtime,
    tracing,
)
from .api import approvals as approvals_api
from .api import audit as audit_api
from .api import facade, gateway, health, lockout, openapi
from .guards import approvals, budget, ratelimit
from .state import SETTINGS_KEY
from .strict_json import StrictJSONProvider

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter


def create_app(settings: Settings | None = None, *,
               span_exporter: SpanExporter | None = None) -> Flask:
    """The one factory. Without `settings`, they are read from the environment.
    (`span_exporter`: tests trace into it whatever the settings say.)

    Every piece is wired here, explicitly and in order; nothing registers itself.
    """
    settings = settings or load_settings(os.environ)
    observability.configure_logging(settings.log_level, settings.log_format)

    app = Flask(__name__)
    app.config[SETTINGS_KEY] = settings
    # Flask answers 413 for larger bodies before any view reads them.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json = StrictJSONProvider(app)  # NaN, 1e999, deep nesting: 400, not 500

    observability.init_app(app, settings)
    # OpenTelemetry only when OTEL_* asks for it; first, so that every request gets its span.
    tracing.init_app(app, settings, exporter=span_exporter)
    errors.init_app(app)
    redis_conn.init_app(app, settings)
    runtime.init_app(app, settings)  # proxy trust, CORS, security headers, /readyz, /metrics
    # The policy with every guardrail's section; start-up fails on a bad one.
    auth.init_app(app, settings, policy_format.load(settings.policy_file))
    fleet_budget = budget.init_app(app, settings, redis_conn.redis_client(app))
    management.init_app(app, settings, budget=fleet_budget)  # tiers, broker, client
    # Per-caller limits + the budget's first token: one Redis round trip before each view.
    ratelimit.init_app(app, settings, fleet_budget, redis_conn.redis_client(app))
    audit.init_app(app, settings)
    approvals.init_app(app, settings)  # four-eyes requests, encrypted in Redis

    app.register_blueprint(health.bp)
    app.register_blueprint(gateway.bp)
    app.register_blueprint(openapi.bp)
    facade.init_app(app)
    app.register_blueprint(audit_api.bp)
    app.register_blueprint(approvals_api.bp)
    app.register_blueprint(lockout.bp)
    return app
