"""The admin panel in a real browser: panel/e2e/run.mjs drives Debian's Chromium
(playwright-core) through the emulator's login, the gateway (real Redis) and the
panel server, as three demo users. Screenshots: artifacts/screenshots/*.png.

What the browser saw is checked by the script; what reached the tenant is
checked here (the rename, the block and the unblock went through the gateway
with Management tokens, the reader's forced write never left the gateway, the
admin's create, role changes and delete did).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from devtools.panel_server import PANEL_DIR

ROOT = PANEL_DIR.parent
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
SCRIPT_TIMEOUT = 150  # seconds; a run takes ~25 s on the 2-core CI machine


def run_script(node: str, chromium: str, panel_url: str) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "PANEL_URL": panel_url, "CHROMIUM": chromium,
           "SCREENSHOT_DIR": str(SCREENSHOTS)}
    done = subprocess.run([node, "e2e/run.mjs"], cwd=PANEL_DIR, env=env, capture_output=True,
                          text=True, timeout=SCRIPT_TIMEOUT, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return done.returncode, result, done.stdout[-3000:] + done.stderr[-3000:]


def test_reader_editor_and_admin_in_a_real_browser(node: str, chromium: str,
                                                   panel_stack: dict[str, Any]) -> None:
    emulator = panel_stack["emulator"]
    tenant = emulator.tenant
    dave = tenant.user_id("dave")
    tenant.reset_counters()

    code, result, output = run_script(node, chromium, panel_stack["panel"].url)

    assert result, f"no JSON result from e2e/run.mjs:\n{output}"
    assert code == 0 and result["ok"], "\n".join(result.get("failures", [])) + "\n" + output
    assert len(result["checks"]) >= 23
    names = {Path(p).name for p in result["screenshots"]}
    assert {"01-login-page.png", "02-user-search.png", "03-user-detail-reader.png",
            "04-forbidden-write.png", "05-edit-profile.png", "06-user-blocked.png",
            "07-user-detail-editor.png", "08-audit-trail.png",
            "09-create-user-error.png"} <= names
    assert all((SCREENSHOTS / name).stat().st_size > 10_000 for name in names)

    # What reached Auth0: bob's rename, block and unblock, as the write tier.
    with tenant.lock:
        user = dict(tenant.users[dave])
        patches = [r for r in tenant.request_log
                   if r.method == "PATCH" and r.params.get("id") == dave]
    assert user["name"] == result["new_name"]
    assert user.get("blocked") is False
    assert [r.json for r in patches] == [{"name": result["new_name"]}, {"blocked": True},
                                         {"blocked": False}]
    assert {r.client_id for r in patches} == {"gateway-write"}
    # carol's invalid create never left the gateway; her valid one did, then her role
    # assignment, its removal and the delete, all through the admin tier.
    creates = [r for r in tenant.request_log if r.method == "POST" and r.route == "/api/v2/users"]
    assert [r.json["email"] for r in creates] == [result["new_user_email"]]
    assert creates[0].client_id == "gateway-admin"
    new_id = creates[0].response_json["user_id"]
    admin_calls = [(r.method, r.route) for r in tenant.request_log
                   if r.params.get("id") == new_id and r.method != "GET"]
    assert admin_calls == [("POST", "/api/v2/users/{id}/roles"),
                           ("DELETE", "/api/v2/users/{id}/roles"),
                           ("DELETE", "/api/v2/users/{id}")]
    with tenant.lock:
        assert new_id not in tenant.users
