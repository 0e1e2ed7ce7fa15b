"""The policy file: validation with file and line, extensibility, and its effect on callers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from app import create_app, policy_format
from app.auth.extension import TRUST_SCOPE_WARNING
from app.auth.policy import PolicyError, PolicyFormat, load_policy
from config.settings import DEFAULT_POLICY_FILE
from tests.support.tokens import claims_for, me

GOOD = """\
# comment
[roles."Support Reader"]
permissions = ["users:read", "roles:read"]

[roles.Editor]
permissions = [
  "users:read",
  "users:update",
]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def problems_of(path: Path, form: PolicyFormat | None = None) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(path, form)
    return caught.value.problems


def test_shipped_policy_is_valid_and_grants_the_documented_roles() -> None:
    policy = policy_format.load(DEFAULT_POLICY_FILE)
    assert policy.permissions_for(["Support Reader"]) == {
        "users:read", "roles:read", "users:roles:read", "users:logs:read", "users:mfa:read",
        "users:sessions:read", "roles:users:read", "orgs:read"}
    editor = policy.permissions_for(["Support Editor"])
    assert {"users:update", "users:block"} <= editor
    assert not {"users:delete", "users:roles:assign"} & editor
    assert {"users:create", "users:delete", "users:roles:assign", "users:update_app_metadata",
            "audit:read"} <= policy.permissions_for(["User Admin"])


def test_good_policy(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, GOOD))
    assert policy.permissions_for(["Editor", "nobody"]) == {"users:read", "users:update"}
    assert policy.permissions_for([]) == frozenset()


def test_unknown_permission_names_it_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('"users:update",', '"users:updte",'))
    [problem] = problems_of(path)
    assert f"{path}:8:" in problem
    assert "'users:updte'" in problem
    assert "role 'Editor'" in problem


def test_unknown_permission_on_the_header_line_of_an_inline_list(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('"roles:read"]', '"roles:reed"]'))
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:3:")


def test_the_same_name_in_another_role_points_at_the_right_line(tmp_path: Path) -> None:
    text = GOOD + '\n[roles."Other"]\npermissions = ["users:read", "audit:reed"]\n'
    path = write(tmp_path, text.replace('"users:update",', '"audit:reed",'))
    problems = problems_of(path)
    assert [p.split(": ", 1)[0] for p in problems] == [f"{path}:8", f"{path}:12"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("users:read", "nope:one").replace("roles:read", "nope:2"))
    assert len(problems_of(path)) == 3


def test_unknown_key_in_a_role_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('[roles.Editor]\n', '[roles.Editor]\npermisions = []\n'))
    problems = problems_of(path)
    assert any(p.startswith(f"{path}:6:") and "unknown key 'permisions'" in p for p in problems)


def test_unknown_top_level_section_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + '\n[protected]\nroles = ["Admin"]\n')
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:11:")
    assert "unknown section 'protected'" in problem


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("[roles.X]\npermissions = 'users:read'\n", "must be a list",
                 id="permissions-not-a-list"),
    pytest.param("[roles.X]\n", "has no `permissions`", id="no-permissions"),
    pytest.param("roles = 3\n", "must be a table", id="roles-not-a-table"),
    pytest.param("[roles]\nX = 1\n", "must be a table", id="role-not-a-table"),
    pytest.param("# nothing\n", "grants nothing", id="empty"),
    pytest.param("[roles.X\npermissions = []\n", "not valid TOML", id="toml-syntax"),
    pytest.param("[roles.X]\npermissions = ['users:read', 'users:read']\n", "listed twice",
                 id="duplicate"),
])
def test_malformed_policies(tmp_path: Path, text: str, expected: str) -> None:
    problems = problems_of(write(tmp_path, text))
    assert any(expected in p for p in problems), problems


def test_missing_file(tmp_path: Path) -> None:
    assert "cannot read" in problems_of(tmp_path / "absent.toml")[0]


def test_registered_section_and_role_key(tmp_path: Path) -> None:
    def protected(value: Any, locate: Any, problems: list[str]) -> frozenset[str]:
        if not isinstance(value.get("roles"), list):
            problems.append(f"{locate.where(section=('protected',))}: roles must be a list")
            return frozenset()
        return frozenset(value["roles"])

    def assignable(role: str, value: Any, locate: Any, problems: list[str]) -> tuple[str, ...]:
        return tuple(value)

    form = PolicyFormat(sections={"protected": protected},
                        role_keys={"assignable_roles": assignable})
    text = GOOD.replace("[roles.Editor]\n", "[roles.Editor]\nassignable_roles = ['Reader']\n")
    policy = load_policy(write(tmp_path, text + "\n[protected]\nroles = ['User Admin']\n"),
                         form)
    assert policy.sections["protected"] == {"User Admin"}
    assert policy.roles["Editor"].extras["assignable_roles"] == ("Reader",)

    # A registered validator's problems are reported like the loader's own.
    path = write(tmp_path, GOOD + "\n[protected]\nroles = 'User Admin'\n")
    assert problems_of(path, form) == [f"{path}:11: roles must be a list"]


def test_core_keys_cannot_be_taken_over() -> None:
    with pytest.raises(ValueError):
        PolicyFormat(sections={"roles": lambda v, loc, p: v})
    with pytest.raises(ValueError):
        PolicyFormat(role_keys={"permissions": lambda r, v, loc, p: v})


def test_gateway_refuses_to_start_with_a_bad_policy(make_settings: Any, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("users:update", "users:updte"))
    with pytest.raises(PolicyError, match="users:updte"):
        create_app(make_settings(POLICY_FILE=str(path)))


def test_policy_roles_grant_permissions(make_gateway: Any, tenant: Any, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    gateway = make_gateway(POLICY_FILE=str(path))
    token = tenant.sign(claims_for(tenant, permissions=[], **{tenant.roles_claim: ["Editor"]}))
    body = me(gateway, token).json()
    assert body["roles"] == ["Editor"]
    assert body["permissions"] == ["users:read", "users:update"]


def test_unknown_permissions_in_tokens_are_ignored(shared_gateway: Any, tenant: Any) -> None:
    token = tenant.sign(claims_for(
        tenant, permissions=["users:read", "users:*", "admin", "read:users", 7]))
    assert me(shared_gateway, token).json()["permissions"] == ["users:read"]


@pytest.mark.parametrize("trusted", [False, True], ids=["scope-ignored", "scope-trusted"])
def test_trust_scope_claim(make_gateway: Any, tenant: Any, trusted: bool,
                           caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="admin_gateway.auth"):
        gateway = make_gateway(TRUST_SCOPE_CLAIM=str(trusted).lower())
    warned = TRUST_SCOPE_WARNING in caplog.text
    assert warned is trusted
    # Without RBAC a client can ask for any scope; only a trusting gateway believes it.
    token = tenant.sign(claims_for(tenant, permissions=[],
                                   scope="openid users:delete users:read bogus:thing"))
    permissions = me(gateway, token).json()["permissions"]
    assert permissions == (["users:delete", "users:read"] if trusted else [])
