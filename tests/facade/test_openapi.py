"""/openapi.json describes exactly the enabled operations; /docs works without a CDN."""

from __future__ import annotations

import requests
from openapi_spec_validator import validate

from app.api.openapi import build_document
from app.catalog import CATALOG, GATEWAY_ACTIONS, LOCK_OUT_STEPS
from tests.support.servers import LiveServer


def test_openapi_lists_exactly_the_catalog_and_gateway_endpoints(gateway: LiveServer) -> None:
    doc = requests.get(gateway.url + "/openapi.json", timeout=10).json()
    validate(doc)
    operations = {(method.upper(), path) for path, item in doc["paths"].items()
                  for method in item if path.startswith("/api/v2")}
    assert operations == {(op.method, op.gateway_path) for op in CATALOG}
    assert "/gateway/me" in doc["paths"]
    for op in (*CATALOG, *GATEWAY_ACTIONS):
        described = doc["paths"][op.gateway_path][op.method.lower()]
        assert described["x-gateway-permission"] == op.permission
        assert described["security"] == [{"bearerAuth": []}]
        assert "403" in described["responses"] and "401" in described["responses"]
    gateway_own = {(method.upper(), path) for path, item in doc["paths"].items()
                   for method in item if not path.startswith("/api/v2")}
    assert gateway_own == {
        ("GET", "/gateway/me"), ("GET", "/gateway/audit"), ("GET", "/healthz"),
        ("GET", "/readyz"), ("POST", "/gateway/users/{id}/lock-out"),
        ("GET", "/gateway/approvals"), ("GET", "/gateway/approvals/{id}"),
        ("POST", "/gateway/approvals/{id}/approve"), ("POST", "/gateway/approvals/{id}/reject"),
        ("POST", "/gateway/approvals/{id}/withdraw")}


def test_the_lock_out_answer_is_described() -> None:
    described = build_document()["paths"]["/gateway/users/{id}/lock-out"]["post"]
    assert {"200", "400", "401", "403", "404", "429", "502"} <= set(described["responses"])
    assert "requestBody" not in described  # it takes no body
    schemas = build_document()["components"]["schemas"]
    step = schemas["LockOutStep"]["properties"]
    assert step["step"]["enum"] == [s.name for s in LOCK_OUT_STEPS]
    assert step["outcome"]["enum"] == ["done", "failed", "not-offered"]
    assert set(schemas["LockOut"]["required"]) == {"user_id", "complete", "steps"}
    incomplete = described["responses"]["502"]["content"]["application/problem+json"]
    assert incomplete["schema"] == {"$ref": "#/components/schemas/LockOutIncomplete"}


def test_every_write_may_answer_202_held_for_approval() -> None:
    doc = build_document()
    for op in CATALOG:
        responses = doc["paths"][op.gateway_path][op.method.lower()]["responses"]
        assert ("202" in responses) == op.is_write, op.operation_id
    held = doc["paths"]["/api/v2/users/{id}"]["delete"]["responses"]["202"]
    assert held["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Approval"}
    # Auth0's own 202 (no body) stays; its description names both answers.
    revoke = doc["paths"]["/api/v2/users/{id}/revoke-access"]["post"]["responses"]["202"]
    assert "content" not in revoke and "four-eyes" in revoke["description"]
    lock_out = doc["paths"]["/gateway/users/{id}/lock-out"]["post"]["responses"]
    assert "202" not in lock_out  # never held: the emergency brake


def test_openapi_omits_what_the_gateway_refuses(gateway: LiveServer) -> None:
    doc = requests.get(gateway.url + "/openapi.json", timeout=10).json()
    patch = doc["paths"]["/api/v2/users/{id}"]["patch"]
    body = patch["requestBody"]["content"]["application/json"]["schema"]
    assert "password" not in body["properties"] and body["additionalProperties"] is False
    params = {p["name"] for p in doc["paths"]["/api/v2/users"]["get"]["parameters"]}
    assert "primary_order" not in params and "q" in params
    assert all(p["in"] != "header" for p in patch["parameters"])


def test_every_error_the_gateway_answers_is_documented_as_problem_json() -> None:
    # Found by schemathesis (tests/test_api_fuzz.py): Auth0's form-encoded bodies (the
    # gateway reads JSON only: 415), undocumented 413/415/503, and Auth0's own 409/503
    # responses without the problem+json content the gateway sends.
    doc = build_document()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                # /readyz answers its 503 with the probes' report, for load balancers.
                if int(status) >= 400 and (path, status) != ("/readyz", "503"):
                    assert list(response["content"]) == ["application/problem+json"], \
                        (method, path, status)
            if "requestBody" in operation:
                assert list(operation["requestBody"]["content"]) == ["application/json"]
                assert {"413", "415"} <= set(operation["responses"]), (method, path)
    for op in CATALOG:
        responses = doc["paths"][op.gateway_path][op.method.lower()]["responses"]
        assert {"400", "401", "403", "404", "429", "502", "503", "504"} <= set(responses)
    assert "409" in doc["paths"]["/api/v2/users"]["post"]["responses"]
    # gunicorn's own refusals, on any path (app/runtime/gunicorn_errors.py).
    for item in doc["paths"].values():
        for operation in item.values():
            assert {"400", "414", "431"} <= set(operation["responses"])
    assert {"401", "429", "503"} <= set(doc["paths"]["/gateway/me"]["get"]["responses"])


def test_docs_page_is_served_from_this_origin(gateway: LiveServer) -> None:
    page = requests.get(gateway.url + "/docs", timeout=10)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "http" not in page.text.replace(gateway.url, "")  # no CDN references
    for asset in ("/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css",
                  "/docs/init.js"):
        assert requests.get(gateway.url + asset, timeout=10).status_code == 200
    assert requests.get(gateway.url + "/docs/static/index.html", timeout=10).status_code == 404


def test_docs_can_be_switched_off(make_gateway) -> None:  # type: ignore[no-untyped-def]
    server = make_gateway(DOCS_ENABLED="false")
    assert requests.get(server.url + "/openapi.json", timeout=10).status_code == 404
    assert requests.get(server.url + "/docs", timeout=10).status_code == 404
    assert requests.get(server.url + "/docs/init.js", timeout=10).status_code == 404
    assert requests.get(server.url + "/docs/static/swagger-ui-bundle.js",
                        timeout=10).status_code == 404
