"""Trust exactly as many reverse-proxy hops as configured, and no more.

`X-Forwarded-For` and friends are plain request headers: any client can send
them. Werkzeug's ProxyFix takes the N-th value from the right, N being the
number of proxies *we* run in front of the gateway, so a spoofed left-most
entry never becomes `request.remote_addr` (which keys per-IP rate limits and
goes into the access log). With every count at 0 (the default) ProxyFix is not
installed at all and the socket peer is the client.

gunicorn's own forwarded-header handling is switched off in
config/gunicorn.conf.py (`secure_scheme_headers = {}`) so that this is the one
place where proxy headers are trusted.
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
