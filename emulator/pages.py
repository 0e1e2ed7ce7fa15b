"""The few HTML pages of the emulator's login: login, web_message response, errors.

Rendered with Jinja autoescaping (``render_template_string``); the stylesheet is
our own constant (``| safe``: escaping would break its quotes); values placed
inside ``<script>`` go through ``tojson``, which escapes ``<``, ``>``, ``&`` and
``'`` so no value can close the script element. Nothing is loaded from
anywhere: styles are inline, there are no images or fonts.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Response, render_template_string

_STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       background: #f3f4f6; color: #111827; margin: 0; }
main { max-width: 30rem; margin: 3rem auto; background: #fff; border-radius: 10px;
       box-shadow: 0 1px 3px rgba(0,0,0,.12); padding: 1.75rem 2rem; }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
p.sub { color: #4b5563; margin: 0 0 1.25rem; }
.note { font-size: .85rem; color: #6b7280; margin-top: 1.25rem; }
button.user { display: flex; width: 100%; text-align: left; align-items: center; gap: .9rem;
              border: 1px solid #d1d5db; background: #fff; border-radius: 8px;
              padding: .7rem .9rem; margin: .5rem 0; cursor: pointer; font: inherit; }
button.user:hover, button.user:focus { border-color: #2563eb; background: #eff6ff;
                                       outline: none; }
.avatar { width: 2.3rem; height: 2.3rem; border-radius: 50%; background: #1e40af; color: #fff;
          display: flex; align-items: center; justify-content: center; font-weight: 600;
          flex: none; }
.who strong { display: block; }
.who span { color: #4b5563; font-size: .85rem; }
.error { border-left: 4px solid #dc2626; padding: .5rem 1rem; background: #fef2f2; }
code { background: #f3f4f6; padding: 0 .25rem; border-radius: 3px; }
"""

LOGIN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in – {{ tenant_name }}</title><style>{{ style | safe }}</style></head>
<body><main>
<h1>Log in to {{ app_name }}</h1>
<p class="sub">Auth0 tenant emulator – pick a demo user (no password: loopback only).</p>
<form method="post" action="{{ action }}">
<input type="hidden" name="transaction" value="{{ transaction }}">
{% if wants_mfa or max_age is not none %}<p class="note" role="status">The application asks
for a fresh login{% if wants_mfa %} with a second factor{% endif %}.</p>{% endif %}
<label class="mfa"><input type="checkbox" name="mfa" value="1"
{%- if wants_mfa %} checked{% endif %}> Confirm with a second factor
(simulated MFA: the token says <code>amr: ["pwd", "mfa"]</code>)</label>
{% for user in users %}
<button class="user" type="submit" name="user" value="{{ user.alias }}">
  <span class="avatar" aria-hidden="true">{{ user.initials }}</span>
  <span class="who"><strong>{{ user.name }}</strong>
  <span>{{ user.email }} · {{ user.roles or "no role" }} · {{ user.department }}</span></span>
</button>
{% endfor %}
</form>
<p class="note">Signing in as <code>{{ audience or "no API" }}</code> for
<code>{{ redirect_origin }}</code>.</p>
</main></body></html>
"""

ERROR = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>{{ style | safe }}</style></head>
<body><main><h1>{{ title }}</h1>
<p class="error"><strong>{{ error }}</strong>: {{ description }}</p>
<p class="note">Auth0 tenant emulator</p></main></body></html>
"""

# The shape Auth0's web_message response mode posts (what auth0-spa-js's runIframe
# listens for): {type: "authorization_response", response: {code, state} | {error, ...}}.
WEB_MESSAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorization Response</title></head>
<body><script nonce="{{ nonce }}">
(function () {
  var target = window.opener || window.parent;
  target.postMessage({type: "authorization_response", response: {{ response | tojson }}},
                     {{ target_origin | tojson }});
})();
</script></body></html>
"""

LOGGED_OUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Logged out</title>
<style>{{ style | safe }}</style></head>
<body><main><h1>Logged out</h1><p class="sub">You may close this page.</p></main></body></html>
"""

PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
            "base-uri 'none'")


def page(template: str, status: int = 200, **values: Any) -> Response:
    """A standalone page that may not be framed and loads nothing from anywhere."""
    body = render_template_string(template, style=_STYLE, **values)
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def web_message(response_params: dict[str, str], target_origin: str) -> Response:
    """The page that hands the result to the window that framed (or opened) it.

    Only ``target_origin`` (an allowed web origin) may frame it and receive the
    message: ``postMessage`` drops it for any other origin (HTML §9.4.3).
    """
    nonce = secrets.token_urlsafe(16)
    body = render_template_string(WEB_MESSAGE, nonce=nonce, response=response_params,
                                  target_origin=target_origin)
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; frame-ancestors {target_origin}; "
        "base-uri 'none'")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
