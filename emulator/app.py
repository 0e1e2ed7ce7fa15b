"""The emulator's Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from emulator import context, fault_hooks
from emulator.errors import management_response
from emulator.management import api, guard
from emulator.routes import browser_cors, dev, discovery, login, oauth
from emulator.tenant import Tenant

# "All endpoints accept a maximum payload size of 1 megabyte" (Auth0's Management API
# reference); hapi's default maxBytes, whose 413 text follows.
MAX_PAYLOAD_BYTES = 1024 * 1024
PAYLOAD_TOO_LARGE = f"Payload content length greater than maximum allowed: {MAX_PAYLOAD_BYTES}"


class _JSONProvider(DefaultJSONProvider):
    """Auth0 answers compact JSON with keys in insertion order; a body nested too deeply
    for Python's parser is unparsable JSON (a 400), never a 500."""

    sort_keys = False
    compact = True

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def create_emulator_app(tenant: Tenant) -> Flask:
    app = Flask("emulator")
    app.json = _JSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_PAYLOAD_BYTES
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
        if status == 413:
            return management_response(status, PAYLOAD_TOO_LARGE)
        return management_response(status, exc.name if status != 404 else "Not Found")
    response = jsonify({"error": exc.name, "error_description": exc.description})
    response.status_code = status
    return response
