"""The guardrails' policy sections: the shipped policy parses, and every malformed rule
stops start-up with the file and line (one test per rejection reason)."""

from __future__ import annotations

from pathlib import Path

import pytest

import app  # noqa: F401 - registers the guardrail sections
from app.auth.policy import PolicyError
from app.guards.budget import budget_plan
from app.guards.escalation import ProtectionConfig
from app.guards.scope import ScopeConfig
from app.policy_format import load as load_policy
from app.policy_format import parse as parse_policy
from config.settings import DEFAULT_POLICY_FILE, ConfigError, Settings

ROLES = '[roles."Support Reader"]\npermissions = ["users:read"]\n'


def test_shipped_policy_has_every_guardrail_section() -> None:
    policy = load_policy(DEFAULT_POLICY_FILE)
    assert set(policy.sections) == {"limits", "scope", "protection", "audit"}
    scope = policy.sections["scope"]
    assert isinstance(scope, ScopeConfig) and len(scope.rules) == 3
    protection = policy.sections["protection"]
    assert isinstance(protection, ProtectionConfig) and protection.self_actions == "deny"
    assert policy.roles["User Admin"].extras["assignable_roles"] == \
        {"Support Reader", "Support Editor"}
    api = "https://admin-gateway.example.com/api"
    assert policy.roles["User Admin"].extras["assignable_permissions"] == \
        {(api, "users:read"), (api, "users:logs:read")}
    assert protection.grant_unheld_permissions is False


BAD = [
    ("limits-unknown-name", '[limits]\n"drop_users" = "1/minute"\n', "neither an operation"),
    ("limits-bad-rate", '[limits]\n"get_roles" = "lots"\n', "must be a rate"),
    ("scope-unknown-key", "[scope]\nwho = 1\n", "unknown key"),
    ("scope-permission", '[scope]\nunrestricted_permission = "god"\n', "not a gateway"),
    ("rule-user-metadata", '[[scope.rules]]\nroles = ["A"]\nuser_field = '
                           '"user_metadata.department"\nequals = "department"\n', "app_metadata"),
    ("rule-equals", '[[scope.rules]]\nroles = ["A"]\nuser_field = "app_metadata.d"\n'
                    'equals = "email"\n', "equals must be"),
    ("rule-both", '[[scope.rules]]\nroles = ["A"]\nwhen_present = true\n'
                  'user_field = "app_metadata.d"\nequals = "department"\n', "either roles"),
    ("rule-neither", '[[scope.rules]]\nuser_field = "app_metadata.d"\nequals = "org_id"\n',
     "either roles"),
    ("rule-empty-roles", '[[scope.rules]]\nroles = []\nuser_field = "app_metadata.d"\n'
                         'equals = "org_id"\n', "non-empty"),
    ("protection-self", '[protection]\nself_actions = "sometimes"\n', "self_actions"),
    ("protection-permission", '[protection]\nmanage_permission = "x"\n', "not a gateway"),
    ("protection-roles", "[protection]\nprotected_roles = \"User Admin\"\n", "list of role"),
    ("assignable-not-list", '[roles."B"]\npermissions = []\nassignable_roles = "A"\n',
     "assignable_roles must be"),
    ("audit-path", '[audit]\nmetadata_values = ["password"]\n', "metadata_values"),
]


@pytest.mark.parametrize(("extra", "message"), [(e, m) for _, e, m in BAD],
                         ids=[i for i, _, _ in BAD])
def test_malformed_guardrail_rules_stop_start_up(extra: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(ROLES + extra, Path("policy.toml"))
    assert any(message in line and line.startswith("policy.toml")
               for line in caught.value.problems), caught.value.problems


def _settings(**values: object) -> Settings:
    from cryptography.fernet import Fernet

    from config.settings import Secret
    return Settings(auth0_domain="x.auth0.com", auth0_audience="https://api", tier_names=("r",),
                    token_cache_key=Secret(Fernet.generate_key().decode()), **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("plan", "buckets"), [
    ("free", {"all": (2.0, 2, 1)}),
    ("enterprise", {"all": (16.0, 50, 45)}),
    ("enterprise-nonprod", {"all": (2.0, 10, 9)}),
    ("essentials", {"users-read": (500 / 60, 40, 36), "users-write": (200 / 60, 20, 18),
                    "other": (150 / 60, 10, 9)}),
])
def test_plan_buckets(plan: str, buckets: dict[str, tuple[float, int, int]]) -> None:
    found = budget_plan(_settings(mgmt_plan=plan)).buckets
    assert {n: (b.rate, b.burst, b.capacity) for n, b in found.items()} == buckets


def test_essentials_groups_user_reads_and_writes() -> None:
    from app.catalog import BY_ID

    plan = budget_plan(_settings(mgmt_plan="essentials"))
    assert plan.classify(BY_ID["get_users_by_id"]) == "users-read"
    assert plan.classify(BY_ID["delete_users_by_id"]) == "users-write"
    assert plan.classify(BY_ID["get_roles"]) == "other"


def test_overrides_and_custom_plan() -> None:
    one = budget_plan(_settings(mgmt_plan="essentials", mgmt_budget_rate=5.0)).buckets
    assert {n: (b.rate, b.burst) for n, b in one.items()} == {"all": (5.0, 5)}
    burst = budget_plan(_settings(mgmt_plan="free", mgmt_budget_burst=8)).buckets["all"]
    assert (burst.rate, burst.burst) == (2.0, 8)
    with pytest.raises(ConfigError, match="MGMT_BUDGET_RATE"):
        budget_plan(_settings(mgmt_plan="custom"))
