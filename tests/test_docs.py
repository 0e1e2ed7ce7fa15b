"""Generated documentation and derived data stay in step with the code and Auth0's spec."""

from __future__ import annotations

import json
from pathlib import Path

from app.catalog import SPEC_FILE
from scripts.extract_auth0_spec import DEFAULT_SOURCE, render
from scripts.render_readme import README, SECTIONS
from scripts.render_readme import render as render_readme
from tests.support.redis_helpers import skip_or_fail


def test_readme_tables_are_generated_from_code() -> None:
    text = README.read_text()
    assert render_readme(text, SECTIONS) == text, "run: python scripts/render_readme.py"


def test_auth0_subset_is_derived_from_the_official_spec() -> None:
    if not DEFAULT_SOURCE.exists():
        skip_or_fail(f"Auth0's OpenAPI document not found at {DEFAULT_SOURCE}")
    assert render(DEFAULT_SOURCE) == SPEC_FILE.read_text(), \
        "run: python scripts/extract_auth0_spec.py"


def test_subset_is_a_self_contained_openapi_document() -> None:
    doc = json.loads(Path(SPEC_FILE).read_text())
    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        _, _, kind, name = ref.split("/", 3)
        assert name in doc["components"][kind], ref
