"""The emulator's Management API over HTTP: tokens of its M2M clients, and `Api`, requests
with a bearer token against one server."""

from __future__ import annotations

from typing import Any

import requests

from emulator.server import EmulatorServer


def client_token(server: EmulatorServer, client_id: str) -> str:
    t = server.tenant
    response = requests.post(
        server.url + "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": t.clients[client_id].client_secret,
            "audience": t.management_audience,
        },
        timeout=5,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


class Api:
    """``requests`` against one server's Management API with a bearer token."""

    def __init__(self, server: EmulatorServer, token: str | None) -> None:
        self.server = server
        self.token = token

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        kwargs.setdefault("timeout", 5)
        return requests.request(method, self.server.url + "/api/v2" + path,
                                headers=headers, **kwargs)
