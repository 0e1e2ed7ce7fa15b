"""The vendored Auth0 Management API document (spec/auth0/) and its refresh script."""

from __future__ import annotations

import copy
import datetime
import gzip
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from app.catalog import SPEC_FILE
from emulator import extract_spec
from scripts import auth0_document
from scripts.refresh_auth0_spec import README, Targets, facts_block, main, problems, refresh


@pytest.fixture(scope="module")
def raw() -> bytes:
    return auth0_document.read_bytes()


def test_the_copy_is_in_the_repository_compressed_reproducibly(raw: bytes) -> None:
    stored = auth0_document.VENDORED.read_bytes()
    assert stored[:2] == b"\x1f\x8b"
    flags, mtime = stored[3], int.from_bytes(stored[4:8], "little")
    assert (flags, mtime) == (0, 0), "no file name, no timestamp in the gzip header"
    assert auth0_document.compress(raw) == stored, \
        "not the reproducible form: run python scripts/refresh_auth0_spec.py"


def test_the_copy_is_the_one_the_emulator_subset_was_derived_from(raw: bytes) -> None:
    recorded = json.loads(extract_spec.OUTPUT.read_text(encoding="utf-8"))["source"]
    assert hashlib.sha256(raw).hexdigest() == recorded["sha256"]
    assert auth0_document.load()["info"]["title"] == recorded["title"]


def test_a_plain_json_file_reads_the_same(raw: bytes, tmp_path: Path) -> None:
    plain = tmp_path / "oas.json"
    plain.write_bytes(raw)
    assert auth0_document.read_bytes(plain) == raw


def test_readme_facts_match_the_copy(raw: bytes) -> None:
    text = README.read_text(encoding="utf-8")
    date = text.split("| Vendored on | ", 1)[1].split(" |", 1)[0]
    assert facts_block(raw, json.loads(raw), date) in text, \
        "run: python scripts/refresh_auth0_spec.py"


def _targets(tmp_path: Path) -> Targets:
    for source in (auth0_document.VENDORED, SPEC_FILE, extract_spec.OUTPUT, README):
        shutil.copy(source, tmp_path / source.name)
    return Targets(vendored=tmp_path / auth0_document.VENDORED.name,
                   app_subset=tmp_path / SPEC_FILE.name,
                   emulator_subset=tmp_path / extract_spec.OUTPUT.name,
                   readme=tmp_path / README.name)


def _snapshot(targets: Targets) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (targets.vendored, targets.app_subset,
                                             targets.emulator_subset, targets.readme)}


def test_refreshing_with_the_same_document_changes_nothing(raw: bytes, tmp_path: Path) -> None:
    targets = _targets(tmp_path)
    before = _snapshot(targets)
    report = refresh(raw, targets, today=datetime.date(2099, 1, 1))
    assert _snapshot(targets) == before
    assert "operations added (0):" in report and "operations removed (0):" in report


def test_refresh_reports_added_removed_and_changed_operations(raw: bytes,
                                                              tmp_path: Path) -> None:
    targets = _targets(tmp_path)
    doc: dict[str, Any] = json.loads(raw)
    newer = copy.deepcopy(doc)
    newer["paths"]["/gateway-test-new"] = {"get": {"operationId": "get_new", "responses": {}}}
    del newer["paths"]["/branding"]["get"]  # not used by the gateway or the emulator
    newer["paths"]["/roles"]["get"]["security"] = [{"oAuth2ClientCredentials": ["read:roles"]}]
    new_raw = json.dumps(newer).encode()

    report = refresh(new_raw, targets, today=datetime.date(2099, 1, 1))

    assert "  + GET /gateway-test-new  get_new" in report
    assert any(line.startswith("  - GET /branding ") for line in report)
    assert any(line.startswith("  ~ GET /roles ") for line in report)
    assert auth0_document.read_bytes(targets.vendored) == new_raw
    subset = json.loads(targets.emulator_subset.read_text())
    assert subset["source"]["sha256"] == hashlib.sha256(new_raw).hexdigest()
    (roles,) = [o for o in subset["operations"] if o["operationId"] == "get_roles"]
    assert roles["scopes"] == ["read:roles"]
    assert "| Vendored on | 2099-01-01 |" in targets.readme.read_text()
    assert "| Operations | 452 |" in targets.readme.read_text()  # +1 -1


def test_refresh_refuses_other_documents_and_writes_nothing(raw: bytes, tmp_path: Path) -> None:
    targets = _targets(tmp_path)
    before = _snapshot(targets)
    doc = json.loads(raw)
    del doc["paths"]["/users/{id}"]["patch"]
    with pytest.raises(ValueError, match="PATCH /users/{id} is used by"):
        refresh(json.dumps(doc).encode(), targets)
    with pytest.raises(ValueError, match="not JSON"):
        refresh(gzip.compress(b"{}")[:10], targets)
    assert _snapshot(targets) == before
    petstore = {"openapi": "3.0.3", "info": {"title": "Swagger Petstore"},
                "servers": [{"url": "https://petstore.example/v3"}], "paths": {"/pet": {}}}
    found = problems(petstore)
    assert found[0].startswith("info.title must be 'Auth0 Management API'")
    assert found[1].startswith("no server URL ends in /api/v2")
    assert found[2].startswith("components.securitySchemes has no oAuth2ClientCredentials")
    assert "GET /users is used by the gateway or the emulator but is missing" in found
    assert problems(doc | {"openapi": "2.0"})[0] == "'openapi' must be a 3.x version, got '2.0'"


def test_cli_refuses_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    swagger = tmp_path / "swagger.json"
    swagger.write_text('{"swagger": "2.0"}')
    assert main([str(swagger)]) == 2
    assert "refused:" in capsys.readouterr().err
