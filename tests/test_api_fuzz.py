"""API fuzzing of the gateway's own contract: schemathesis sends what it generates from
`/openapi.json` to a live gateway, under gunicorn with config/gunicorn.conf.py as in
production, against a fresh emulator tenant, as the reader (alice), the editor (bob) and
the admin (carol), and holds every response to the document (checks:
tests/support/contract.py). tests/test_api_contract.py sends, once each, the
successes and documented errors that generated input rarely reaches.

- Writes (POST /users, DELETE /users/{id}, role changes, blocks) go to a fresh emulator of
  this module's own, never the session's shared tenant.
- Path ids are drawn half of the time from the tenant's real users, so that reads and
  writes reach Auth0 (the emulator) and real users are checked against Auth0's schemas,
  not only 404s.
- Bounded for CI (well under a minute for 20 operations x 3 roles): `FUZZ_MAX_EXAMPLES`
  (default 10) generated examples per operation and role besides schemathesis's coverage
  phase (boundary values, missing and malformed parameters, other methods), no deadline
  (each request goes through Redis and the emulator), derandomized under CI=true so that a
  CI failure reproduces.
- The per-caller rate limits (and the policy's per-operation limits) are raised so that
  the fuzzer reaches the logic behind them; a 429 would still have to conform.
- Not run: schemathesis's stateful phase (the document has no OpenAPI links).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from config.settings import load_settings
from emulator.server import EmulatorServer
from emulator.tenant import Tenant
from tests.support.contract import CHECKS, DOCUMENT, ROLES, load_contract
from tests.support.environments import gateway_env
from tests.support.policies import write_policy
from tests.support.processes import Gunicorn
from tests.support.redis_helpers import delete_prefix, real_redis_url, unique_prefix
from tests.support.secret_watch import SecretWatch

CI = os.environ.get("CI", "").lower() == "true"
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))
GENEROUS = "100000/minute"

# Loaded at collection so that each operation is a test of its own; the `contract`
# fixture checks that the live gateway serves exactly this document. (Schemas loaded
# from a fixture, `schemathesis.pytest.from_fixture`, fail on pytest 9.2: schemathesis
# 4.32 sets `Function._nodeid`, which pytest 9.2 no longer has.)
schema = load_contract()


@functools.cache
def _tenant_user_ids() -> list[str]:
    # Tenant.demo() is deterministic: these are the fresh emulator's users.
    return sorted(Tenant.demo().users)


@schema.hook
def flatmap_case(context: Any, case: Any) -> Any:
    """Half of the positive cases with an `id` in the path get a real user's id. Negative
    cases keep their (invalid) ids."""
    positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
    if not positive or "id" not in (case.path_parameters or {}):
        return st.just(case)

    def with_id(user_id: str | None) -> Any:
        if user_id is not None:
            case.path_parameters = {**case.path_parameters, "id": user_id}
        return case
    return st.one_of(st.none(), st.sampled_from(_tenant_user_ids())).map(with_id)


@pytest.fixture(scope="module")
def fuzz_emulator(secret_watch: SecretWatch) -> Iterator[Any]:
    """A fresh tenant of this module's own (as `fresh_emulator`, for the whole module)."""
    tenant = Tenant.demo()
    secret_watch.watch_tenant(tenant)
    with EmulatorServer(tenant) as server:
        yield server


@pytest.fixture(scope="module")
def contract(fuzz_emulator: Any, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Gunicorn]:
    """The gateway as in production (gunicorn, config/gunicorn.conf.py, one worker), serving
    DOCUMENT at /openapi.json. Its log goes to a file, searched for this module's secrets
    (tokens, client secrets, the cache key) when the module is done."""
    policy = write_policy(tmp_path_factory.mktemp("fuzz-policy"), {
        '"delete_users_by_id" = "30/hour"': '"delete_users_by_id" = "100000/hour"',
        '"post_password-change" = "20/hour"': '"post_password-change" = "100000/hour"'})
    redis_url = real_redis_url()
    prefix = unique_prefix()
    env = gateway_env(fuzz_emulator, redis_url, prefix, POLICY_FILE=str(policy),
                      RATE_LIMIT_READS=GENEROUS, RATE_LIMIT_WRITES=GENEROUS,
                      RATE_LIMIT_UNAUTHENTICATED=GENEROUS)
    watch = SecretWatch()
    watch.watch_tenant(fuzz_emulator.tenant)
    watch.add_settings(load_settings(env))
    try:
        with Gunicorn(env, workers=1, threads=8) as gateway:
            served = requests.get(gateway.url + "/openapi.json", timeout=10)
            assert served.status_code == 200
            assert served.json() == json.loads(json.dumps(DOCUMENT)), "the live document differs"
            yield gateway
            log = gateway.log_text()
    finally:
        delete_prefix(redis_url, prefix)
    watch.assert_absent_from(log, "gunicorn's log of the API fuzzing")


@pytest.fixture(scope="module")
def tokens(fuzz_emulator: Any) -> dict[str, str]:
    return {role: fuzz_emulator.tenant.issue_user_token(alias, expires_in=3600)
            for role, alias in ROLES.items()}


@pytest.mark.parametrize("role", sorted(ROLES))
# The module's gateway and tenant are shared by every example on purpose (as one client's
# calls share a server); `role`, a plain parameter, is the only function-scoped value.
# Hence the function-scoped fixture health check is off.
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=CI, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@schema.parametrize()
def test_gateway_answers_as_its_openapi_document_says(case: Any, role: str, contract: Gunicorn,
                                                      tokens: dict[str, str]) -> None:
    case.call_and_validate(base_url=contract.url,
                           headers={"Authorization": f"Bearer {tokens[role]}"},
                           checks=CHECKS, timeout=30)


def test_the_fuzzing_covers_every_documented_operation() -> None:
    documented = {f"{method.upper()} {path}" for path, item in DOCUMENT["paths"].items()
                  for method in item}
    fuzzed = {operation.ok().label for operation in schema.get_all_operations()}
    assert fuzzed == documented  # nothing excluded
