"""The lean hand-written proxy: one pooled `requests.Session` for every upstream call.

    gunicorn -w 2 -k gthread --threads 8 bench.proxies.lean:app
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

from bench.proxies.handwritten import VERIFY, make_app

session = requests.Session()
session.verify = VERIFY
# As large as the gateway's UPSTREAM_POOL_SIZE default: never waits for a connection.
session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=32))
session.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=32))

app = make_app(session.get, session.post)
