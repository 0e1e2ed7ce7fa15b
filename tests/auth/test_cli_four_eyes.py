"""`admin-gateway policy explain` also says when an allowed request needs a fresh MFA
login (`[step_up]`) or waits for approval (`[approvals]`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from tests.support.policies import policy_with

SECTIONS = """
[step_up]
operations = ["delete_users_by_id"]
max_age = 120
amr_values = ["mfa"]

[approvals]
permissions = ["users:delete"]
approvers = 2
expires_in = 3600
"""


def test_explain_names_step_up_and_approval(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    path = policy_with(tmp_path, SECTIONS)
    code = main(["policy", "explain", "--file", str(path), "--roles", "User Admin",
                 "DELETE", "/api/v2/users/auth0|1"])
    out = capsys.readouterr().out
    assert code == 0 and "verdict     ALLOW" in out
    assert "step-up     a login at most 120 s old with amr mfa" in out
    assert "approval    held (202) until 2 other holder(s) of approvals:decide approve" in out
    main(["policy", "explain", "--file", str(path), "--roles", "User Admin",
          "PATCH", "/api/v2/users/auth0|1", "--field", "name"])
    out = capsys.readouterr().out
    assert "verdict     ALLOW" in out and "step-up " not in out and "approval    " not in out
