"""The committed operation table is exactly what Auth0's spec says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emulator import extract_spec
from emulator.management.spec import operations
from scripts import auth0_document


def test_regenerating_gives_the_committed_file() -> None:
    regenerated = extract_spec.render(extract_spec.extract(auth0_document.read_bytes()))
    committed = extract_spec.OUTPUT.read_text(encoding="utf-8")
    assert regenerated == committed, (
        "emulator/auth0_subset.json is stale: run `python scripts/refresh_auth0_spec.py`")


@pytest.mark.parametrize("op_id", sorted(operations()))
def test_scopes_match_the_spec(spec_dict: dict[str, Any], op_id: str) -> None:
    op = operations()[op_id]
    spec_op = spec_dict["paths"][op.path][op.method.lower()]
    assert spec_op["operationId"] == op_id
    (granted,) = [r["oAuth2ClientCredentials"] for r in spec_op["security"]
                  if "oAuth2ClientCredentials" in r]
    assert list(op.scopes) == granted


def test_every_operation_has_a_route() -> None:
    from emulator.management.api import HANDLERS

    assert set(HANDLERS) == set(operations())


def test_cli_writes_the_file(tmp_path: Path) -> None:
    spec = tmp_path / "management-api-oas.json"
    spec.write_bytes(auth0_document.read_bytes())
    out = tmp_path / "subset.json"
    assert extract_spec.main([str(spec), "-o", str(out)]) == 0
    assert json.loads(out.read_text())["operations"][0]["operationId"] == "get_users"
