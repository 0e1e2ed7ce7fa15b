"""Fixtures for the emulator's own tests: real servers on loopback, tokens, the spec."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from emulator.server import EmulatorServer
from emulator.tenant import Tenant, TenantSnapshot
from scripts import auth0_document
from tests.support.emulator_api import Api, client_token


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[tuple[EmulatorServer, TenantSnapshot]]:
    """One demo tenant for the session, and its pristine data."""
    with EmulatorServer(Tenant.demo()) as server:
        yield server, server.tenant.snapshot()


READONLY = "readonly_tenant"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{READONLY}: the test never changes the shared emulator's data "
        "(its data is then not restored afterwards, which saves ~10 ms per test)")


@pytest.fixture
def emu(request: pytest.FixtureRequest,
        shared_emulator: tuple[EmulatorServer, TenantSnapshot]) -> Iterator[EmulatorServer]:
    """The shared server: tests may change its data, which is restored afterwards.

    Faults are disarmed and counters zeroed before each test. Keys are shared:
    tests that rotate keys use ``fresh_emu``.
    """
    server, pristine = shared_emulator
    server.tenant.faults.clear()
    server.tenant.reset_counters()
    yield server
    server.tenant.faults.clear()
    # A request the test gave up on (client timeout) must not consume the next test's faults.
    assert server.wait_idle(), "emulator still busy after the test"
    if request.node.get_closest_marker(READONLY) is None:
        server.tenant.restore(pristine)


@pytest.fixture
def fresh_emu() -> Iterator[EmulatorServer]:
    """A server of its own (own keys), for tests that rotate keys."""
    with EmulatorServer(Tenant.demo()) as server:
        yield server


@pytest.fixture
def tenant(emu: EmulatorServer) -> Tenant:
    return emu.tenant


@pytest.fixture
def token_for(emu: EmulatorServer) -> Callable[[str], str]:
    """Management API token of a demo M2M client, minted over HTTP."""
    cache: dict[str, str] = {}

    def get(client_id: str) -> str:
        if client_id not in cache:
            cache[client_id] = client_token(emu, client_id)
        return cache[client_id]

    return get


@pytest.fixture
def scoped_token(emu: EmulatorServer) -> Callable[[list[str]], str]:
    """Management API token carrying exactly ``scopes`` (through a throwaway M2M client)."""

    def get(scopes: list[str]) -> str:
        client_id = "test-" + "-".join(s.replace(":", "_") for s in scopes)[:60]
        emu.tenant.add_client(client_id, scopes)
        return client_token(emu, client_id)

    return get


@pytest.fixture
def api(emu: EmulatorServer, token_for: Callable[[str], str]) -> Api:
    """Management API as the single-tier client (every scope the gateway uses)."""
    return Api(emu, token_for("gateway-all"))


@pytest.fixture
def full_api(emu: EmulatorServer, token_for: Callable[[str], str]) -> Api:
    """Management API as a client granted every scope an emulated operation accepts
    (``*:current_user*`` scopes aside), whatever the demo tiers hold."""
    from emulator.management.spec import operations

    scopes = sorted({s for op in operations().values() for s in op.scopes
                     if "current_user" not in s})
    emu.tenant.add_client("every-scope", scopes)
    return Api(emu, token_for("every-scope"))


@pytest.fixture
def api_as(emu: EmulatorServer) -> Callable[[str | None], Api]:
    return lambda token: Api(emu, token)


@pytest.fixture(scope="session")
def spec_dict() -> dict[str, Any]:
    """Auth0's whole Management API document (the copy vendored in spec/auth0/)."""
    return auth0_document.load()


@pytest.fixture(scope="session")
def openapi(spec_dict: dict[str, Any]) -> Any:
    """Auth0's spec as an openapi-core validator, loaded once (strict spec checks off)."""
    from jsonschema_path import SchemaPath
    from openapi_core import Config, OpenAPI

    doc = dict(spec_dict)
    # The spec's server is https://{tenantDomain}/api/v2; the emulator is plain http.
    doc["servers"] = [{"url": "http://{host}/api/v2", "variables": {"host": {"default": "x"}}}]
    return OpenAPI(SchemaPath.from_dict(doc), config=Config(spec_validator_cls=None))


@pytest.fixture
def conforms(openapi: Any) -> Callable[[requests.Response], None]:
    """Assert that a request and its response are valid against Auth0's spec."""
    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

    def check(response: requests.Response) -> None:
        request = RequestsOpenAPIRequest(response.request)
        openapi.validate_request(request)
        openapi.validate_response(request, RequestsOpenAPIResponse(response))

    return check
