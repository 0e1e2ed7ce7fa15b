"""`admin-gateway tenant plan`: the least-privilege tier plan, and its table, JSON and Terraform."""

from __future__ import annotations

import json
import shutil
import subprocess
from itertools import combinations
from pathlib import Path
from typing import Any

import hcl2
import pytest
from cryptography.fernet import Fernet

from app.auth.policy import Policy
from app.catalog import CATALOG, PERMISSIONS
from app.management.tiers import plan_tiers, tier_warnings
from app.policy_format import load as load_policy
from app.provisioning import planner
from app.provisioning.cli import load_plan
from app.provisioning.plan import BOOTSTRAP_SCOPES, CHECK_SCOPES, TenantPlan, build_plan
from app.provisioning.render import TERRAFORM_PROVIDER, render_json, render_table, render_terraform
from config.settings import Settings, TierConfig, load_settings
from emulator.seed import ADMIN_SCOPES, READ_SCOPES, WRITE_SCOPES
from tests.support.redis_helpers import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
ENV = {"AUTH0_DOMAIN": "example.eu.auth0.com",
       "AUTH0_AUDIENCE": "https://admin-gateway.example.com/api",
       "CORS_ORIGINS": "https://admin.example.com",
       "MGMT_TIERS": "read", "MGMT_TIER_READ_CLIENT_ID": "x",
       "MGMT_TIER_READ_CLIENT_SECRET": "never-printed-secret",
       "MGMT_TIER_READ_SCOPES": "read:users", "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
       "MGMT_PLAN": "enterprise"}

# The auth0/auth0 provider 1.x: each resource the plan may use, with its arguments and
# nested blocks (registry.terraform.io/providers/auth0/auth0/latest/docs).
PROVIDER_SCHEMA: dict[str, set[str]] = {
    "auth0_resource_server": {"name", "identifier", "signing_alg", "enforce_policies",
                              "token_dialect",
                              "skip_consent_for_verifiable_first_party_clients"},
    "auth0_resource_server_scopes": {"resource_server_identifier", "scopes"},
    "auth0_role": {"name", "description"},
    "auth0_role_permissions": {"role_id", "permissions"},
    "auth0_client": {"name", "app_type", "oidc_conformant", "is_first_party", "callbacks",
                     "allowed_logout_urls", "web_origins", "grant_types", "client_metadata"},
    "auth0_client_credentials": {"client_id", "authentication_method"},
    "auth0_client_grant": {"client_id", "audience", "scopes"},
    "auth0_action": {"name", "runtime", "deploy", "code", "supported_triggers"},
    "auth0_trigger_action": {"trigger", "action_id"},
}
BLOCK_ATTRIBUTES = {"scopes": {"name", "description"},
                    "permissions": {"name", "resource_server_identifier"},
                    "supported_triggers": {"id", "version"}}


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(ENV)


@pytest.fixture(scope="module")
def policy(settings: Settings) -> Policy:
    return load_policy(settings.policy_file)


@pytest.fixture(scope="module")
def plan(settings: Settings, policy: Policy) -> TenantPlan:
    return build_plan(settings, policy)


def test_scope_reach_is_derived_from_the_official_spec() -> None:
    from scripts.extract_scope_reach import render

    assert planner.REACH_FILE.read_text(encoding="utf-8") == render(), \
        "run python scripts/extract_scope_reach.py"


def test_every_operation_gets_a_tier_with_zero_scopes_beyond_its_need(plan: TenantPlan) -> None:
    least = plan.tiers
    for assignment in least.assignments:
        assert assignment.tier.scopes <= assignment.need.accepted, assignment.need.label
        assert assignment.tier.scopes & assignment.need.accepted
    # The gateway's own choice (start-up's TierPlan, smallest tier first, ties in order)
    # picks exactly such a tier, and check-config has no warning at all.
    assert planner.verify(least) == []
    tiers = least.tier_configs()
    rows = plan_tiers(tiers)
    assert [row for row in rows if row.extra_scopes] == []
    assert tier_warnings(tiers, rows) == []
    # Every variant of every catalog operation is planned (PATCH only-app_metadata too).
    labels = {a.need.label for a in least.assignments}
    assert {f"{op.method} {op.gateway_path}" for op in CATALOG} <= labels
    assert "PATCH /api/v2/users/{id} (only app_metadata)" in labels


def test_a_free_tenant_gets_no_application_for_enterprise_only_operations(
        policy: Policy) -> None:
    free = build_plan(load_settings({**ENV, "MGMT_PLAN": "free"}), policy)
    granted = {scope for client in free.tier_clients for scope in client.grant_scopes}
    assert not granted & {"read:sessions", "delete:sessions", "read:refresh_tokens",
                          "delete:refresh_tokens"}
    planned = {a.need.operation.operation_id for a in free.tiers.assignments}
    assert planned == {op.operation_id for op in CATALOG if not op.enterprise_only}


def test_no_plan_with_fewer_applications_exists() -> None:
    """Independent of the planner's search. A need Auth0 accepts one scope for forces an
    application holding only that scope (a tier serves a need with zero extras only if it
    lies inside the need's accepted set); a needs-all-scopes need forces one holding
    exactly its scopes, which serves no other need. Every other need must be hit by some
    application's scope: exhaustive search shows no fewer applications do."""
    least = planner.plan_least_privilege()
    needs = planner.needs()
    joint = {n.accepted for n in needs if n.operation.needs_all_scopes}
    single = [n for n in needs if not n.operation.needs_all_scopes]
    assert not any(scopes <= n.accepted for scopes in joint for n in single)
    forced = {next(iter(n.accepted)) for n in single if len(n.accepted) == 1}
    rest = [n for n in single if not n.accepted & forced]
    candidates = sorted({s for n in rest for s in n.accepted})
    beyond_forced = len(least.tiers) - len(forced) - len(joint)
    assert beyond_forced >= 0
    for size in range(beyond_forced):
        for combo in combinations(candidates, size):
            assert not all(n.accepted & set(combo) for n in rest), combo


def test_the_hand_made_three_tier_set_up_is_over_privileged() -> None:
    """The issue's starting point: read/write/admin tiers run most operations over-privileged."""
    demo = (TierConfig("read", "r", _secret(), frozenset(READ_SCOPES)),
            TierConfig("write", "w", _secret(), frozenset(WRITE_SCOPES)),
            TierConfig("admin", "a", _secret(), frozenset(ADMIN_SCOPES)))
    rows = plan_tiers(demo)
    assert sum(1 for row in rows if row.extra_scopes) > len(rows) // 2


def _secret() -> Any:
    from config.settings import Secret

    return Secret("x")


def test_plan_contents(plan: TenantPlan, policy: Policy) -> None:
    assert plan.api.identifier == "https://admin-gateway.example.com/api"
    assert plan.api.enforce_policies and plan.api.token_dialect == "access_token_authz"
    assert [v for v, _ in plan.api.scopes] == list(PERMISSIONS)
    assert {r.name: set(r.permissions) for r in plan.roles} == {
        name: set(role.permissions) for name, role in policy.roles.items()}
    panel = plan.client("panel")
    assert panel.app_type == "spa" and panel.callbacks == ("https://admin.example.com",)
    assert panel.web_origins == panel.allowed_logout_urls == panel.callbacks
    assert plan.client("check").grant_scopes == CHECK_SCOPES
    assert all(s.startswith("read:") for s in CHECK_SCOPES)
    assert set(plan.claims) == {"roles", "department", "auth_time", "acr", "amr"}
    assert plan.claims["roles"] == "https://admin-gateway.example.com/roles"
    assert plan.claims["amr"] == "https://admin-gateway.example.com/amr"


def test_json_output_is_the_plan(plan: TenantPlan) -> None:
    data = json.loads(render_json(plan))
    assert data["tiers"]["order"] == [t.name for t in plan.tiers.tiers]
    assert all(row["extra_scopes"] == [] for row in data["tiers"]["operations"])
    assert data["bootstrap_scopes"] == list(BOOTSTRAP_SCOPES)
    grants = {c["key"]: c["client_grant"] for c in data["clients"]}
    assert grants["panel"] is None
    assert grants["read_users"] == {"audience": "https://example.eu.auth0.com/api/v2/",
                                    "scope": ["read:users"]}


def test_table_names_every_tier_and_operation(plan: TenantPlan) -> None:
    text = render_table(plan)
    for assignment in plan.tiers.assignments:
        assert assignment.need.label in text
    for tier in plan.tiers.tiers:
        assert tier.name in text


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def test_terraform_parses_and_names_only_provider_resources(plan: TenantPlan) -> None:
    text = render_terraform(plan)
    document = hcl2.loads(text)
    provider = document["terraform"][0]["required_providers"][0]["auth0"]
    assert {k: _unquote(v) for k, v in provider.items() if k in ("source", "version")} == \
        TERRAFORM_PROVIDER
    counts: dict[str, int] = {}
    for entry in document["resource"]:
        for kind, named in entry.items():
            kind = _unquote(kind)
            assert kind in PROVIDER_SCHEMA, kind
            for _name, body in named.items():
                counts[kind] = counts.get(kind, 0) + 1
                attributes = {k for k in body if not k.startswith("__")}
                assert attributes <= PROVIDER_SCHEMA[kind], (kind, attributes)
                for block in attributes & set(BLOCK_ATTRIBUTES):
                    value = body[block]
                    if isinstance(value, list) and value and isinstance(value[0], dict):
                        for item in value:
                            assert {k for k in item if not k.startswith("__")} <= \
                                BLOCK_ATTRIBUTES[block]
    assert counts["auth0_client"] == len(plan.clients)
    assert counts["auth0_client_grant"] == len(plan.tiers.tiers) + 1  # + the check client
    assert counts["auth0_role"] == counts["auth0_role_permissions"] == len(plan.roles)
    assert counts["auth0_action"] == counts["auth0_trigger_action"] == 1
    assert "client_secret =" not in text


def test_tenant_plan_runs_before_any_tier_exists(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A new user has a tenant and an audience, not yet tiers nor a cache key."""
    from app.cli import main

    for name in list(ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTH0_DOMAIN", "example.eu.auth0.com")
    monkeypatch.setenv("AUTH0_AUDIENCE", "https://admin-gateway.example.com/api")
    monkeypatch.delenv("MGMT_TIERS", raising=False)
    monkeypatch.delenv("TOKEN_CACHE_KEY", raising=False)
    assert main(["tenant", "plan", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["resource_server"]["identifier"] == "https://admin-gateway.example.com/api"
    loaded = load_plan()
    assert loaded is not None


def test_the_action_sets_every_claim(plan: TenantPlan, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        skip_or_fail("Node.js is not installed (it runs the post-login Action)")
    assert node is not None
    (tmp_path / "action.js").write_text(plan.action.code)
    harness = tmp_path / "run.js"
    harness.write_text("""
const action = require("./action.js");
const claims = {};
const api = {accessToken: {setCustomClaim: (k, v) => { claims[k] = v; }}};
const event = {authorization: {roles: ["Support Reader"]},
               user: {app_metadata: {department: "support"}},
               authentication: {methods: [{name: "pwd", timestamp: "2026-01-01T00:00:00.000Z"},
                                          {name: "mfa", timestamp: "2026-01-01T00:01:00.000Z"}]}};
action.onExecutePostLogin(event, api).then(() => console.log(JSON.stringify(claims)));
""")
    out = subprocess.run([node, str(harness)], capture_output=True, text=True, check=True,
                         timeout=30).stdout
    claims = json.loads(out)
    ns = "https://admin-gateway.example.com/"
    assert claims == {ns + "roles": ["Support Reader"], ns + "department": "support",
                      ns + "auth_time": 1767225660, ns + "amr": ["pwd", "mfa"],
                      ns + "acr": "http://schemas.openid.net/pape/policies/2007/06/multi-factor"}
