"""The emulator's Flask application factory."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from emulator import context, fault_hooks
from emulator.errors import management_response
from emulator.management import api, guard
from emulator.routes import browser_cors, dev, discovery, login, oauth
from emulator.tenant import Tenant


def create_emulator_app(tenant: Tenant) -> Flask:
    app = Flask("emulator")
    # Auth0 answers compact JSON with keys in insertion order.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.compact = True  # type: ignore[attr-defined]
    context.bind(app, tenant)
    fault_hooks.install(app, tenant,
                        on_drop=lambda environ: guard.record_dropped(app, tenant, environ))
    app.register_blueprint(discovery.bp)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(dev.bp)
    app.register_blueprint(login.bp)
    browser_cors.install(app)
    api.install(app)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if request.path.startswith(fault_hooks.MANAGEMENT_PREFIX):
        # Unknown routes and methods look like hapi's defaults, which Auth0 runs on.
        return management_response(status, exc.name if status != 404 else "Not Found")
    response = jsonify({"error": exc.name, "error_description": exc.description})
    response.status_code = status
    return response
