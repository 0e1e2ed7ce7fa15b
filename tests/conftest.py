"""Shared fixtures: the Auth0 emulator, real Redis, gateway settings and a live gateway.

Everything runs over real HTTP on loopback. Tests that need Redis use a real
server (db 15 by default, TEST_REDIS_URL to change it) with a key prefix unique
to the test, deleted afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app import create_app
from config.settings import Settings, load_settings
from tests.support.environments import gateway_env
from tests.support.redis_helpers import delete_prefix, real_redis_url, unique_prefix
from tests.support.redis_servers import PrivateRedis
from tests.support.secret_watch import SecretWatch, capture_gateway_logs
from tests.support.servers import LiveServer


@pytest.fixture(scope="session", autouse=True)
def secret_watch() -> Iterator[SecretWatch]:
    """Suite-wide: no token, client secret or cache key ever appears in a gateway log line.

    Every token the emulators sign and every secret the settings hold is recorded;
    everything the gateway's log handler wrote during the whole run is searched
    for them at the end.
    """
    watch = SecretWatch()
    with capture_gateway_logs(tee=True) as logs:
        yield watch
    watch.assert_absent_from(logs.getvalue(), "the gateway logs of the whole test run")


def _emulator_server(watch: SecretWatch) -> Any:
    from emulator.server import EmulatorServer
    from emulator.tenant import Tenant

    tenant = Tenant.demo()
    watch.watch_tenant(tenant)
    return EmulatorServer(tenant)


@pytest.fixture(scope="session")
def emulator(secret_watch: SecretWatch) -> Iterator[Any]:
    """One emulator for read-mostly tests. Tests that mutate the tenant use `fresh_emulator`."""
    with _emulator_server(secret_watch) as server:
        yield server


@pytest.fixture
def fresh_emulator(secret_watch: SecretWatch) -> Iterator[Any]:
    with _emulator_server(secret_watch) as server:
        yield server


@pytest.fixture
def redis_url() -> str:
    """A real Redis (skipped locally, failed in CI, when it does not answer)."""
    return real_redis_url()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    prefix = unique_prefix()
    yield prefix
    delete_prefix(redis_url, prefix)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server of the test's own, which it may stop (and start again)."""
    server = PrivateRedis().start()
    yield server
    server.cleanup()


@pytest.fixture
def make_settings(emulator: Any, redis_url: str, redis_prefix: str, secret_watch: SecretWatch
                  ) -> Callable[..., Settings]:
    def make(emulator_server: Any = None, **overrides: str) -> Settings:
        settings = load_settings(gateway_env(emulator_server or emulator, redis_url,
                                             redis_prefix, **overrides))
        secret_watch.add_settings(settings)
        return settings
    return make


@pytest.fixture
def serve() -> Iterator[Callable[[Any], LiveServer]]:
    """Serve WSGI apps on loopback; all stopped after the test."""
    servers: list[LiveServer] = []

    def start(app: Any) -> LiveServer:
        server = LiveServer(app).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def make_gateway(make_settings: Callable[..., Settings], serve: Callable[[Any], LiveServer]
                 ) -> Callable[..., LiveServer]:
    """Start gateways (create_app + a live loopback server); all stopped after the test."""
    def start(emulator_server: Any = None, *, settings: Settings | None = None,
              **overrides: str) -> LiveServer:
        return serve(create_app(settings or make_settings(emulator_server, **overrides)))

    return start


@pytest.fixture
def gateway(make_gateway: Callable[..., LiveServer]) -> LiveServer:
    return make_gateway()
