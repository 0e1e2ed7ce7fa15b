"""`admin-gateway policy check|explain` and the Policy section of `check-config`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import app.auth.cli  # noqa: F401  (registers the Policy check, as `admin-gateway` does)
from app.checks import describe_configuration
from app.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_shipped_policy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "check")
    assert code == 0
    assert ('role "Support Reader": orgs:read, roles:read, roles:users:read, users:logs:read, '
            'users:mfa:read, users:read, users:roles:read, users:sessions:read') in out


def test_check_bad_policy_names_file_and_line(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[roles.X]\npermissions = [\n  "users:read",\n  "users:raed",\n]\n')
    code, _, err = run(capsys, "policy", "check", "--file", str(path))
    assert code == 2
    assert f"{path}:4: role 'X': unknown permission 'users:raed'" in err


def test_explain_role_a_read_is_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "explain", "--roles", "Support Reader",
                       "GET", "/api/v2/users/auth0%7C123")
    assert code == 0
    assert "GET /api/v2/users/{id}  (get_users_by_id" in out
    assert "users:read" in out and "verdict     ALLOW" in out


def test_explain_role_a_write_is_denied(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "explain", "--roles", "Support Reader",
                       "PATCH", "/api/v2/users/auth0|123", "--field", "name")
    assert code == 1
    assert "verdict     DENY 403: missing users:update" in out


def test_explain_field_level_permissions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "explain", "--permissions",
                       "users:read,users:update,not:a-permission", "PATCH", "users/auth0|1",
                       "--field", "name", "--field", "blocked", "--field", "app_metadata")
    assert code == 1
    lines = out.splitlines()
    assert any("users:update" in line and "base permission; field name" in line
               and line.endswith("has") for line in lines)
    assert any("users:block" in line and "field blocked" in line and line.endswith("MISSING")
               for line in lines)
    assert "ignored (not gateway permissions): not:a-permission" in out
    assert "DENY 403: missing users:block, users:update_app_metadata" in out


def test_explain_forbidden_field(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "explain", "--roles", "User Admin",
                       "PATCH", "/api/v2/users/x", "--field", "password")
    assert code == 1
    assert "refused     field password" in out and "DENY 400" in out


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("GET", "/api/v2/clients", "404"),
    ("PUT", "/api/v2/users/x", "405"),
], ids=["unknown-path", "unknown-method"])
def test_explain_outside_the_catalog(capsys: pytest.CaptureFixture[str], method: str,
                                     path: str, expected: str) -> None:
    code, _, err = run(capsys, "policy", "explain", "--roles", "User Admin", method, path)
    assert code == 2
    assert f"answers {expected}" in err


def test_check_config_has_a_policy_section(make_settings: Any, tmp_path: Path) -> None:
    ok, report = describe_configuration(make_settings())
    assert "== Policy: ok" in report
    path = tmp_path / "p.toml"
    path.write_text('[roles.X]\npermissions = ["users:reed"]\n')
    ok, report = describe_configuration(make_settings(POLICY_FILE=str(path)))
    assert not ok
    assert "== Policy: PROBLEM" in report and f"{path}:2:" in report


def test_check_config_warns_about_trusting_scope(make_settings: Any) -> None:
    _, report = describe_configuration(make_settings(TRUST_SCOPE_CLAIM="true"))
    assert "WARNING: TRUST_SCOPE_CLAIM is on" in report
