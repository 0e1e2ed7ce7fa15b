"""The naive proxy of forum answers: `requests.get(...)` per request, so a new session
and a new TCP connection (over HTTPS, a new TLS handshake) every time (the Management
token is still cached per process).

    gunicorn -w 2 -k gthread --threads 8 bench.proxies.naive:app
"""

from __future__ import annotations

from functools import partial

import requests

from bench.proxies.handwritten import VERIFY, make_app

# A new session, connection and (over HTTPS) TLS handshake per call, verified as lean's.
app = make_app(partial(requests.get, verify=VERIFY), partial(requests.post, verify=VERIFY))
