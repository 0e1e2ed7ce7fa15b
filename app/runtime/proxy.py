"""Trust exactly as many reverse-proxy hops as configured, and no more.

werkzeug's ProxyFix with the PROXY_FIX_X_* counts (not installed when all are 0),
so a spoofed left-most X-Forwarded-For entry never becomes `request.remote_addr`.

Design: docs/runtime.md, "Reverse proxy".
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config.settings import Settings


def init_app(app: Flask, settings: Settings) -> None:
    hops = (settings.proxy_fix_x_for, settings.proxy_fix_x_proto, settings.proxy_fix_x_host)
    if not any(hops):
        return
    app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
        app.wsgi_app,
        x_for=settings.proxy_fix_x_for,
        x_proto=settings.proxy_fix_x_proto,
        x_host=settings.proxy_fix_x_host,
        x_port=0,
        x_prefix=0,
    )
