"""Tier choice: each operation runs with the smallest tier Auth0's spec allows."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app import create_app
from app.catalog import BY_ID, CATALOG
from app.checks import describe_configuration
from app.cli import main as cli_main
from app.management.plans import offered_operations
from app.management.tiers import NoCoveringTier, choose_tier, describe_tiers, plan_tiers
from config.settings import ConfigError, Secret, Settings, TierConfig, load_settings
from emulator.seed import ADMIN_SCOPES, READ_SCOPES, WRITE_SCOPES
from tests.support.brokers import demo_tiers

SECRET = "tier-secret-never-printed"


def tier_env(tiers: dict[str, str]) -> dict[str, str]:
    env = {
        "AUTH0_DOMAIN": "example.eu.auth0.com",
        "AUTH0_AUDIENCE": "https://admin-gateway.example.com/api",
        "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
        "MGMT_TIERS": ",".join(tiers),
    }
    for name, scopes in tiers.items():
        prefix = f"MGMT_TIER_{name.upper()}_"
        env.update({prefix + "CLIENT_ID": f"{name}-client", prefix + "CLIENT_SECRET": SECRET,
                    prefix + "SCOPES": scopes})
    return env


def settings_with(tiers: dict[str, str]) -> Settings:
    return load_settings(tier_env(tiers))


def tier(name: str, *scopes: str) -> TierConfig:
    return TierConfig(name, f"{name}-client", Secret(SECRET), frozenset(scopes))


# With the demo tiers (read: read:users read:roles read:logs_users; write: update:users
# create:user_tickets; admin: create/delete users, role members, MFA, app_metadata).
EXPECTED_DEMO_TIER = {
    "get_users": "read",
    "get_users-by-email": "read",
    "get_users_by_id": "read",
    "post_users": "admin",
    "patch_users_by_id": "write",
    "delete_users_by_id": "admin",
    "get_user_roles": "read",
    "post_user_roles": "write",  # update:users is accepted, and write is smaller than admin
    "delete_user_roles": "write",
    "get_permissions": "read",
    "get_logs_by_user": "read",
    "get_user-blocks_by_id": "read",
    "delete_user-blocks_by_id": "write",
    "post_password-change": "write",
    "post_verification-email": "write",
    "delete_authenticators": "admin",
    "get_roles": "read",
    # Issue 15: update:users rows on write, the other writes on admin, reads on read.
    "post_permissions": "write",
    "delete_permissions": "write",
    "get_sessions_for_user": "read",
    "delete_sessions_for_user": "admin",
    "get_session": "read",
    "delete_session": "admin",
    "get_refresh_tokens_for_user": "read",
    "delete_refresh_tokens_for_user": "admin",
    "get_refresh_token": "read",
    "delete_refresh_token": "admin",
    "user_revoke_access": "admin",
    "get_enrollments": "read",
    "get_authentication-methods": "read",
    "get_authentication-methods_by_authentication_method_id": "read",
    "delete_authentication-methods_by_authentication_method_id": "admin",
    "delete_authentication-methods": "admin",
    "post_invalidate-remember-browser": "write",
    "post_recovery-code-regeneration": "write",
    "delete_user_identity_by_user_id": "write",
    "get_role_user": "read",
    "get_user_organizations": "read",
    "get_organization_members": "read",
    "post_members": "admin",
    "delete_members": "admin",
    "get_organization_member_roles": "read",
    "post_organization_member_roles": "admin",
    "delete_organization_member_roles": "admin",
    "get_invitations": "read",
    "post_invitations": "admin",
    "delete_invitations_by_invitation_id": "admin",
}


def test_expectations_cover_the_whole_catalog() -> None:
    assert set(EXPECTED_DEMO_TIER) == {op.operation_id for op in CATALOG}


@pytest.mark.parametrize("operation_id", sorted(EXPECTED_DEMO_TIER))
def test_every_operation_gets_its_smallest_demo_tier(operation_id: str) -> None:
    chosen = choose_tier(BY_ID[operation_id], (), demo_tiers())
    assert chosen.name == EXPECTED_DEMO_TIER[operation_id]


def test_no_read_operation_ever_gets_a_tier_that_can_write() -> None:
    for row in plan_tiers(demo_tiers()):
        if not row.operation.is_write:
            assert all(s.startswith("read:") for s in row.tier.scopes), row.label


PATCH = BY_ID["patch_users_by_id"]
NARROW = (tier("read", *READ_SCOPES), tier("appmeta", "update:users_app_metadata"),
          tier("write", *WRITE_SCOPES), tier("admin", *ADMIN_SCOPES))


@pytest.mark.parametrize(("fields", "expected"), [
    (("app_metadata",), "appmeta"),
    (("blocked",), "write"),
    (("app_metadata", "name"), "write"),
    ((), "write"),
], ids=["only-app_metadata", "blocked", "app_metadata-and-profile", "no-body"])
def test_patch_tier_depends_on_the_fields_touched(fields: tuple[str, ...], expected: str) -> None:
    # update:users_app_metadata may change app_metadata and nothing else (Auth0's spec).
    assert choose_tier(PATCH, fields, NARROW).name == expected


def test_patch_with_demo_tiers_uses_write_for_app_metadata_and_blocked_alike() -> None:
    assert choose_tier(PATCH, ("app_metadata",), demo_tiers()).name == "write"
    assert choose_tier(PATCH, ("blocked",), demo_tiers()).name == "write"


def test_ties_go_to_configuration_order() -> None:
    roles = BY_ID["get_user_roles"]  # accepts read:users, read:roles, read:role_members
    users, role_reader = tier("users", "read:users"), tier("roles", "read:roles")
    assert choose_tier(roles, (), (users, role_reader)).name == "users"
    assert choose_tier(roles, (), (role_reader, users)).name == "roles"


def test_fewest_scopes_wins_over_configuration_order() -> None:
    big, small = tier("big", "read:users", "read:roles"), tier("small", "read:users")
    assert choose_tier(BY_ID["get_users"], (), (big, small)).name == "small"


def test_user_idp_tokens_scope_is_never_what_makes_a_tier_cover() -> None:
    idp_only = tier("idp", "read:user_idp_tokens")
    with pytest.raises(NoCoveringTier):
        choose_tier(BY_ID["get_users_by_id"], (), (idp_only,))


def test_start_up_refuses_operations_no_tier_covers() -> None:
    settings = settings_with({"read": " ".join(READ_SCOPES), "write": " ".join(WRITE_SCOPES)})
    with pytest.raises(ConfigError) as caught:
        create_app(settings)
    problems = "\n".join(caught.value.problems)
    held = set(READ_SCOPES + WRITE_SCOPES)
    uncovered = [op for op in CATALOG if not op.enterprise_only  # MGMT_PLAN=free
                 and not op.accepted_scopes() & held]
    assert len(caught.value.problems) == len(uncovered) >= 3
    for operation_id, scope in (("post_users", "create:users"),
                                ("delete_users_by_id", "delete:users"),
                                ("delete_authenticators", "delete:guardian_enrollments")):
        line = next(p for p in caught.value.problems if f"covers {operation_id} " in p)
        assert scope in line
    assert "MGMT_TIER_<NAME>_SCOPES" in problems
    assert SECRET not in problems


def test_start_up_refuses_patch_when_only_app_metadata_is_grantable() -> None:
    scopes = " ".join([*READ_SCOPES, "create:user_tickets", *ADMIN_SCOPES])  # no update:users
    with pytest.raises(ConfigError) as caught:
        plan_tiers(settings_with({"all": scopes}).tiers)
    assert any("patch_users_by_id" in p and "update:users" in p for p in caught.value.problems)


def test_start_up_accepts_the_demo_tiers_and_keeps_the_table() -> None:
    app = create_app(settings_with({name: " ".join(t.scopes) for name, t in
                                    ((t.name, t) for t in demo_tiers())}))
    from app.management import tier_plan

    plan = tier_plan(app)
    # MGMT_PLAN is free here: the Enterprise-only rows need no tier.
    assert {row.operation.operation_id: row.tier.name for row in plan if not row.fields} \
        == {op_id: tier for op_id, tier in EXPECTED_DEMO_TIER.items()
            if not BY_ID[op_id].enterprise_only}


def test_check_config_prints_the_operation_tier_table() -> None:
    settings = settings_with({t.name: " ".join(t.scopes) for t in demo_tiers()})
    ok, report = describe_configuration(settings)
    assert ok
    section = report.split("== Credential tiers: ok", 1)[1]
    assert "GET /api/v2/users " in section
    rows = {line.split()[1]: line.split()[2] for line in section.splitlines()
            if line.strip().startswith(("GET ", "POST ", "PATCH ", "DELETE "))
            and "(only" not in line}
    assert rows["/api/v2/users/{id}/authenticators"] == "admin"
    assert "PATCH /api/v2/users/{id} (only app_metadata)" in section
    assert "only one credential tier" not in section


def test_single_tier_reports_over_privileged_operations() -> None:
    settings = settings_with({"all": " ".join(READ_SCOPES + WRITE_SCOPES + ADMIN_SCOPES)})
    ok, lines = describe_tiers(settings)
    assert ok  # allowed, but loudly
    text = "\n".join(lines)
    assert "WARNING: only one credential tier (all)" in text
    get_users = next(line for line in lines if line.startswith("GET /api/v2/users "))
    assert "delete:users" in get_users and "update:users" in get_users
    assert "read:users" not in get_users.split("all", 1)[1]  # the scope it needs is not extra
    warning = next(line for line in lines
                   if line.startswith("WARNING: read operation GET /api/v2/users runs with "
                                      "write-capable scopes "))
    assert {"create:role_members", "create:user_tickets", "create:users"} <= set(
        warning.split())
    rows = plan_tiers(settings.tiers, offered_operations(settings))  # the plan's rows only
    assert f"{len(rows)} of {len(rows)} operations run over-privileged" in text


def test_check_config_warns_about_user_idp_tokens() -> None:
    tiers = {t.name: " ".join(t.scopes) for t in demo_tiers()}
    tiers["read"] += " read:user_idp_tokens"
    ok, lines = describe_tiers(settings_with(tiers))
    assert ok
    assert any(line.startswith("WARNING: tier read holds read:user_idp_tokens") for line in lines)


def test_check_config_warns_about_a_tier_never_chosen() -> None:
    tiers = {t.name: " ".join(t.scopes) for t in demo_tiers()}
    tiers["spare"] = " ".join(READ_SCOPES + WRITE_SCOPES)
    ok, lines = describe_tiers(settings_with(tiers))
    assert any("tier spare is never chosen" in line for line in lines)


def test_check_config_command_fails_naming_uncovered_operations(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in tier_env({"read": " ".join(READ_SCOPES)}).items():
        monkeypatch.setenv(name, value)
    assert cli_main(["check-config"]) == 2
    out = capsys.readouterr().out
    assert "== Credential tiers: PROBLEM" in out
    assert "no credential tier covers post_users (POST /api/v2/users)" in out
    assert SECRET not in out
