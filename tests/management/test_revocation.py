"""Revocation: a token Auth0 refuses is dropped and re-minted once, never a newer one dropped."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from tests.support.brokers import BrokerFactory


def get_user(tenant: Any, token: str) -> int:
    url = tenant.management_audience + "users/" + quote(tenant.user_id("alice"), safe="")
    response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return response.status_code


def test_revoked_token_is_invalidated_and_reminted_once(make_broker: BrokerFactory,
                                                        tenant: Any) -> None:
    here, elsewhere = make_broker(), make_broker()  # two gateway processes
    read = here.settings.tier("read")
    old = here.get_token(read)
    assert elsewhere.get_token(read) == old
    assert get_user(tenant, old) == 200

    tenant.revoke_management_tokens("gateway-read")
    assert get_user(tenant, old) == 401
    here.invalidate(read, old)
    new = here.get_token(read)
    assert new != old and get_user(tenant, new) == 200
    assert tenant.tokens_issued["gateway-read"] == 2

    # The other process still holds the old token in L1, meets the same 401 and
    # invalidates it: the newer token in Redis survives and is taken without a mint.
    assert elsewhere.get_token(read) == old
    elsewhere.invalidate(read, old)
    assert elsewhere.get_token(read) == new
    assert tenant.tokens_issued["gateway-read"] == 2


def test_unauthorized_answer_leads_to_one_fresh_token(make_broker: BrokerFactory,
                                                      tenant: Any) -> None:
    broker = make_broker()
    read = broker.settings.tier("read")
    old = broker.get_token(read)
    tenant.faults.unauthorized_next(1)
    assert get_user(tenant, old) == 401
    broker.invalidate(read, old)
    new = broker.get_token(read)
    assert new != old and get_user(tenant, new) == 200
    assert broker.get_token(read) == new
    assert tenant.tokens_issued["gateway-read"] == 2


def test_invalidating_an_old_token_keeps_the_newer_one(make_broker: BrokerFactory,
                                                       tenant: Any) -> None:
    broker = make_broker()
    read = broker.settings.tier("read")
    old = broker.get_token(read)
    broker.invalidate(read, old)
    new = broker.get_token(read)
    broker.invalidate(read, old)  # a late 401 for the old token, from a slow request
    assert [s.cached for s in broker.status() if s.tier == "read"] == ["l1"]
    assert [s.cached for s in make_broker().status() if s.tier == "read"] == ["l2"]
    assert broker.get_token(read) == new
    assert tenant.tokens_issued["gateway-read"] == 2


def test_invalidate_touches_only_its_own_tier(make_broker: BrokerFactory, tenant: Any) -> None:
    broker = make_broker()
    read, write = broker.settings.tier("read"), broker.settings.tier("write")
    read_token = broker.get_token(read)
    write_token = broker.get_token(write)
    broker.invalidate(write, read_token)  # wrong tier: nothing to drop
    assert [s.cached for s in broker.status()] == ["l1", "l1", "none"]
    broker.invalidate(read, read_token)
    assert [s.cached for s in broker.status()] == ["none", "l1", "none"]
    assert broker.get_token(write) == write_token
