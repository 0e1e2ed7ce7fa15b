"""The ceiling for any Flask proxy under the same gunicorn: no token check, no upstream
call, just the user JSON from memory. Not a proxy; it shows what gunicorn + Flask
alone cost on this machine, so the other figures can be read against it.

    gunicorn -w 2 -k gthread --threads 8 bench.proxies.floor:app
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response

app = Flask(__name__)
_BODY = os.environ.get("BENCH_USER_JSON", json.dumps({"user_id": "auth0|floor"})).encode()


@app.get("/api/v2/users/<user_id>")
def get_user(user_id: str) -> Response:
    return Response(_BODY, mimetype="application/json")
