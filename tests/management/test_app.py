"""Wiring: create_app holds one broker; the `tokens` CLI; Redis down is never a 500."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from app import create_app
from app.cli import main as cli_main
from app.management import TokenBroker, broker, tier_plan
from tests.support.brokers import BrokerFactory
from tests.support.ports import free_port
from tests.support.redis_servers import PrivateRedis
from tests.support.servers import LiveServer


def test_create_app_registers_one_broker_and_the_tier_plan(make_broker: BrokerFactory) -> None:
    app = create_app(make_broker.settings())
    assert isinstance(broker(app), TokenBroker)
    with app.app_context():
        assert broker() is broker(app)
        assert tier_plan() is tier_plan(app)
    assert {row.tier.name for row in tier_plan(app)} == {"read", "write", "admin"}


def test_a_request_with_redis_down_still_gets_its_token(
        make_broker: BrokerFactory, private_redis: PrivateRedis, tenant: Any) -> None:
    app = create_app(make_broker.settings(REDIS_URL=private_redis.url))
    read = broker(app).settings.tier("read")
    app.add_url_rule("/probe", "probe", lambda: {"got": bool(broker(app).get_token(read))})
    private_redis.stop()
    with LiveServer(app) as server:
        answers = [requests.get(server.url + "/probe", timeout=10) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert tenant.tokens_issued["gateway-read"] == 1


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_tokens_status_and_flush(make_broker: BrokerFactory, tenant: Any,
                                 monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    use_env(monkeypatch, make_broker.env())
    token = make_broker().get_token(make_broker.settings().tier("read"))
    assert cli_main(["tokens", "status"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:]}
    assert rows == {"read": "l2", "write": "none", "admin": "none"}
    assert "23h59m" in out
    assert token not in out
    assert all(client.client_secret not in out for client in tenant.clients.values())

    assert cli_main(["tokens", "flush"]) == 0
    assert "dropped 1 cached Management token" in capsys.readouterr().out
    assert cli_main(["tokens", "status"]) == 0
    out = capsys.readouterr().out
    assert {line.split()[1] for line in out.splitlines()[1:]} == {"none"}


def test_tokens_command_says_when_redis_does_not_answer(
        make_broker: BrokerFactory, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    use_env(monkeypatch, make_broker.env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"))
    assert cli_main(["tokens", "status"]) == 1
    assert "Redis does not answer" in capsys.readouterr().err
