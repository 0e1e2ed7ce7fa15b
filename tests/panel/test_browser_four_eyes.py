"""Step-up and four-eyes approvals in a real browser: panel/e2e/four_eyes.mjs drives
Chromium through a password-only login, the gateway's RFC 9470 challenge, the emulator's
simulated second factor (a popup), the held delete, and another administrator's approval.

What the browser saw is checked by the script; what reached the tenant and the audit trail
is checked here: one DELETE, sent only after bob approved, with carol as the actor and bob
as the approver."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from devtools.panel_server import PANEL_DIR, PanelConfig, PanelServer
from tests.support.audit import audit_events
from tests.support.policies import policy_with
from tests.support.servers import LiveServer

SCREENSHOTS = PANEL_DIR.parent / "artifacts" / "screenshots"
SCRIPT_TIMEOUT = 150
MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
FOUR_EYES = f"""
[step_up]
operations = ["delete_users_by_id"]
max_age = 300
acr_values = ["{MFA}"]
amr_values = ["mfa"]

[approvals]
operations = ["delete_users_by_id"]
approver_permission = "approvals:decide"
approvers = 1
expires_in = 3600
"""
# bob (Support Editor) is the approver of this test (the role's list grows at its head, so
# that the replacement does not depend on what else the shipped policy grants).
EDITOR = '[roles."Support Editor"]\npermissions = [\n'
APPROVING_EDITOR = EDITOR + '  "approvals:decide", "users:scope:all",\n'


@pytest.fixture
def four_eyes_stack(fresh_emulator: Any, make_gateway: Callable[..., LiveServer],
                    panel_dist: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    policy = policy_with(tmp_path, FOUR_EYES, {EDITOR: APPROVING_EDITOR})
    with PanelServer(panel_dist) as panel:
        tenant = fresh_emulator.tenant
        tenant.allow_panel_origin(panel.url)
        gateway = make_gateway(fresh_emulator, CORS_ORIGINS=panel.url, POLICY_FILE=str(policy))
        panel.start(PanelConfig(domain=fresh_emulator.url, clientId=tenant.panel_client_id,
                                audience=tenant.gateway_audience, gatewayUrl=gateway.url,
                                title="Admin panel (test)"))
        yield {"panel": panel, "gateway": gateway, "emulator": fresh_emulator}


def test_step_up_and_approval_in_a_real_browser(node: str, chromium: str,
                                                four_eyes_stack: dict[str, Any],
                                                redis_url: str, redis_prefix: str) -> None:
    tenant = four_eyes_stack["emulator"].tenant
    dave, carol, bob = (tenant.user_id(a) for a in ("dave", "carol", "bob"))
    env = {**os.environ, "PANEL_URL": four_eyes_stack["panel"].url, "CHROMIUM": chromium,
           "SCREENSHOT_DIR": str(SCREENSHOTS)}
    done = subprocess.run([node, "e2e/four_eyes.mjs"], cwd=PANEL_DIR, env=env,
                          capture_output=True, text=True, timeout=SCRIPT_TIMEOUT, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    output = done.stdout[-3000:] + done.stderr[-3000:]
    assert result, f"no JSON result from e2e/four_eyes.mjs:\n{output}"
    assert done.returncode == 0 and result["ok"], "\n".join(result["failures"]) + "\n" + output
    assert len(result["checks"]) >= 12
    names = {Path(p).name for p in result["screenshots"]}
    assert {"10-step-up-prompt.png", "11-step-up-login.png", "12-held-for-approval.png",
            "13-my-approvals.png", "14-approval-queue.png",
            "15-approved-and-executed.png"} <= names

    # Auth0 saw exactly one delete of Dave, through the admin tier.
    with tenant.lock:
        deletes = [r for r in tenant.request_log
                   if r.method == "DELETE" and dave in unquote(r.raw_path)]
        assert dave not in tenant.users
    assert len(deletes) == 1 and deletes[0].client_id == "gateway-admin"

    # The trail: the step-up refusal, the held request (after MFA), bob's approval and the
    # execution as carol's, approved by bob.
    trail = [(e["operation"], e["outcome"], e["actor"]["sub"], e.get("reason"))
             for e in audit_events(redis_url, redis_prefix)
             if e["operation"] in ("delete_users_by_id", "gateway_approval")]
    assert trail == [
        ("delete_users_by_id", "denied", carol, "insufficient-user-authentication"),
        ("delete_users_by_id", "held", carol, None),
        ("gateway_approval", "denied", bob, "insufficient-user-authentication"),
        ("gateway_approval", "allowed", bob, None),
        ("delete_users_by_id", "allowed", carol, None),
    ]
    executed = [e for e in audit_events(redis_url, redis_prefix)
                if e["operation"] == "delete_users_by_id" and e["outcome"] == "allowed"][0]
    assert executed["approval"] == {"id": result["approval_id"], "approved_by": [bob]}
