"""The `admin-gateway` command line: the commands README lists exist and behave."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from devtools.cli import COMMANDS
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_readme_commands_and_registered_commands_are_the_same() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`admin-gateway ([a-z-]+)", readme))
    assert documented == {command.name for command in COMMANDS}


def test_emulator_serves_by_default() -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "devtools.cli", "emulator", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
        deadline = time.monotonic() + 30
        while True:
            try:
                body = requests.get(url, timeout=2).json()
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.1)
        assert body["issuer"] == f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_gen_key_prints_a_fernet_key() -> None:
    from cryptography.fernet import Fernet

    out = subprocess.run([sys.executable, "-m", "devtools.cli", "gen-key"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.strip()
    Fernet(out.encode())  # raises if malformed
