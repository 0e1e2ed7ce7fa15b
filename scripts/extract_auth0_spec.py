"""Derive app/auth0_spec.json from Auth0's official Management API OpenAPI document.

The subset keeps, for every catalog operation, Auth0's operation object as is
(parameters, request body, responses, security scopes) and every component it
references, transitively, so the result is itself a valid OpenAPI 3.1 document.

    python scripts/extract_auth0_spec.py [path/to/management-api-oas.json[.gz]]

Without an argument it reads the vendored copy (spec/auth0/, see its README);
`scripts/refresh_auth0_spec.py` replaces that copy and reruns this.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.catalog import CATALOG, SPEC_FILE  # noqa: E402
from scripts import auth0_document  # noqa: E402

DEFAULT_SOURCE = auth0_document.VENDORED


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            found.add(ref)
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def referenced_components(source: dict[str, Any], node: Any) -> dict[str, dict[str, Any]]:
    """Every component of `source` that `node` references, directly or through others."""
    components: dict[str, dict[str, Any]] = {}
    pending = _refs(node)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        target = source["components"][kind][name]
        components.setdefault(kind, {})[name] = target
        pending |= _refs(target) - seen
    return components


def extract(source: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in CATALOG:
        paths.setdefault(op.path, {})[op.method.lower()] = source["paths"][op.path][
            op.method.lower()]
    components = referenced_components(source, paths)
    components["securitySchemes"] = source["components"]["securitySchemes"]
    return {
        "openapi": source["openapi"],
        "info": {**source["info"], "description": "Subset of Auth0's Management API v2 "
                 "document: the operations admin-gateway exposes (generated)."},
        "servers": source["servers"],
        "paths": {p: paths[p] for p in sorted(paths)},
        "components": {k: dict(sorted(v.items())) for k, v in sorted(components.items())},
    }


def render(source_path: Path = DEFAULT_SOURCE) -> str:
    return json.dumps(extract(auth0_document.load(source_path)), indent=1,
                      sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    SPEC_FILE.write_text(render(source))
    print(f"wrote {SPEC_FILE.relative_to(ROOT)} from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
