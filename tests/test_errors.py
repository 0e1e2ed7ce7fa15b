"""Every error is problem+json with the request id; nothing internal leaks."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import requests
from flask import Flask, request

from app import create_app
from config.settings import load_settings
from tests.support.environments import valid_env
from tests.support.servers import LiveServer


def _app() -> Flask:
    app = create_app(load_settings(valid_env(MAX_BODY_BYTES="2048")))

    @app.post("/_test/echo")
    def echo() -> dict[str, object]:
        return {"got": request.get_json()}

    @app.get("/_test/boom")
    def boom() -> str:
        raise RuntimeError("database password is hunter2 and token eyJhbGciOi.eyJzdWIi.sig")

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(_app()) as live:
        yield live


def assert_problem(response: requests.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_unknown_route_is_404_problem(server: LiveServer) -> None:
    assert_problem(requests.get(server.url + "/api/v2/clients"), 404)


def test_wrong_method_is_405_problem_with_allow(server: LiveServer) -> None:
    response = requests.delete(server.url + "/healthz")
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_oversized_body_is_413_problem(server: LiveServer) -> None:
    response = requests.post(server.url + "/_test/echo", json={"x": "a" * 5000})
    assert_problem(response, 413)


def test_wrong_content_type_is_415_problem(server: LiveServer) -> None:
    response = requests.post(server.url + "/_test/echo", data="a=b",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(response, 415)


def test_malformed_json_is_400_problem(server: LiveServer) -> None:
    response = requests.post(server.url + "/_test/echo", data="{nope",
                             headers={"Content-Type": "application/json"})
    assert_problem(response, 400)


def test_exception_is_500_without_internals(server: LiveServer,
                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        response = requests.get(server.url + "/_test/boom")
    body = assert_problem(response, 500)
    text = response.text
    for leak in ("hunter2", "Traceback", "RuntimeError", "eyJ", "boom"):
        assert leak not in text
    records = [r for r in caplog.records if r.name == "admin_gateway.errors"]
    assert records and records[-1].request_id == body["request_id"]
    assert "RuntimeError" in records[-1].getMessage()
    assert "hunter2" not in records[-1].getMessage()


def test_request_id_accepted_when_well_formed(server: LiveServer) -> None:
    response = requests.get(server.url + "/nowhere", headers={"X-Request-ID": "req-12345678"})
    assert response.headers["X-Request-ID"] == "req-12345678"
    assert response.json()["request_id"] == "req-12345678"


@pytest.mark.parametrize("incoming", ["short", "has spaces in it", "x" * 300, "bad\u00e9id123"],
                         ids=["too-short", "spaces", "too-long", "non-ascii"])
def test_malformed_request_id_is_replaced(server: LiveServer, incoming: str) -> None:
    response = requests.get(server.url + "/healthz",
                            headers={"X-Request-ID": incoming.encode("utf-8")})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] != incoming
    assert len(response.headers["X-Request-ID"]) == 32


def test_success_carries_request_id(server: LiveServer) -> None:
    response = requests.get(server.url + "/healthz")
    assert response.json() == {"status": "ok"}
    assert len(response.headers["X-Request-ID"]) == 32


def test_every_problem_type_in_the_code_is_declared() -> None:
    import re
    from pathlib import Path

    from app.errors import PROBLEM_TYPES

    app_dir = Path(__file__).resolve().parents[1] / "app"
    source = "\n".join(p.read_text() for p in app_dir.rglob("*.py"))
    used = set(re.findall(r'slug="([a-z0-9-]+)"', source))
    used |= set(re.findall(r'problem_type\("([a-z0-9-]+)"\)', source))
    assert used, "the scan found nothing: the pattern is wrong"
    assert used <= set(PROBLEM_TYPES), used - set(PROBLEM_TYPES)


def test_undeclared_problem_type_is_refused() -> None:
    from app.errors import Problem

    with pytest.raises(KeyError):
        Problem(400, "x", slug="never-declared")
