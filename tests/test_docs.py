"""Generated documentation and derived data stay in step with the code and Auth0's spec."""

from __future__ import annotations

import json
from pathlib import Path

from app.catalog import SPEC_FILE
from scripts.extract_auth0_spec import render
from scripts.render_readme import README, SECTIONS
from scripts.render_readme import render as render_readme


def test_readme_tables_are_generated_from_code() -> None:
    text = README.read_text()
    assert render_readme(text, SECTIONS) == text, "run: python scripts/render_readme.py"


def test_auth0_subset_is_derived_from_the_official_spec() -> None:
    # render() reads the copy of Auth0's document vendored in spec/auth0/.
    assert render() == SPEC_FILE.read_text(), "run: python scripts/refresh_auth0_spec.py"


def test_subset_is_a_self_contained_openapi_document() -> None:
    doc = json.loads(Path(SPEC_FILE).read_text())
    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        _, _, kind, name = ref.split("/", 3)
        assert name in doc["components"][kind], ref
