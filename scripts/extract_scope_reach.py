"""Derive app/provisioning/scope_reach.json from Auth0's official Management API document.

For every client-credentials scope that some catalog operation accepts, the
Management API operations (METHOD path) Auth0's document says that scope
unlocks. The tier planner (app/provisioning/planner.py) uses it twice: to
prefer the narrower of two equally sufficient scopes, and to report what each
operation's token could still do beyond its need (Auth0 ignores `scope` in
client credentials: a token carries every scope its application was granted).

    python scripts/extract_scope_reach.py [path/to/management-api-oas.json[.gz]]

tests/provisioning/test_planner.py regenerates it from the vendored copy and
fails on any difference.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.catalog import CATALOG  # noqa: E402
from app.provisioning.planner import REACH_FILE  # noqa: E402
from scripts import auth0_document  # noqa: E402

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def extract(document: dict[str, Any]) -> dict[str, Any]:
    wanted = sorted({scope for op in CATALOG for scope in op.spec_scopes})
    reach: dict[str, list[str]] = {scope: [] for scope in wanted}
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            for requirement in operation.get("security", []):
                for scope in requirement.get("oAuth2ClientCredentials", []):
                    if scope in reach:
                        reach[scope].append(f"{method.upper()} {path}")
    return {"source": {"title": document["info"]["title"],
                       "version": document["info"].get("version")},
            "scopes": {scope: sorted(set(ops)) for scope, ops in reach.items()}}


def render(source: Path = auth0_document.VENDORED) -> str:
    document = json.loads(auth0_document.read_bytes(source))
    return json.dumps(extract(document), indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else auth0_document.VENDORED
    REACH_FILE.write_text(render(source), encoding="utf-8")
    print(f"wrote {REACH_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
