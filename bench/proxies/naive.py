"""The naive proxy of forum answers: `requests.get(...)` per request, so a new session
and a new TCP connection every time (the Management token is still cached per process).

    gunicorn -w 2 -k gthread --threads 8 bench.proxies.naive:app
"""

from __future__ import annotations

import requests

from bench.proxies.handwritten import make_app

app = make_app(requests.get, requests.post)
