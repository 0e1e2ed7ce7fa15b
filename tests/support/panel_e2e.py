"""Running one of panel/e2e's browser scripts (Node + playwright-core + Chromium) and
reading the JSON line it prints last: {ok, checks, failures, screenshots, ...}."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from devtools.panel_server import PANEL_DIR

SCREENSHOTS = PANEL_DIR.parent / "artifacts" / "screenshots"
SCRIPT_TIMEOUT = 100  # seconds; under pytest-timeout's 120 s with the stack's start-up


def run_e2e(node: str, chromium: str, panel_url: str, script: str,
            **env: str) -> dict[str, Any]:
    """Run `panel/e2e/<script>` against the panel at `panel_url`; fails the test unless
    every check of the script passed."""
    done = subprocess.run(
        [node, f"e2e/{script}"], cwd=PANEL_DIR, capture_output=True, text=True,
        timeout=SCRIPT_TIMEOUT, check=False,
        env={**os.environ, "PANEL_URL": panel_url, "CHROMIUM": chromium,
             "SCREENSHOT_DIR": str(SCREENSHOTS), **env})
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    output = done.stdout[-3000:] + done.stderr[-3000:]
    assert result, f"no JSON result from e2e/{script}:\n{output}"
    assert done.returncode == 0 and result["ok"], "\n".join(result["failures"]) + "\n" + output
    return result


def screenshot_names(result: dict[str, Any]) -> set[str]:
    """The screenshots a run took, each checked to hold a real page (not a blank one)."""
    names = {Path(path).name for path in result["screenshots"]}
    assert all((SCREENSHOTS / name).stat().st_size > 10_000 for name in names)
    return names
