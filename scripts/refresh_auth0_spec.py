"""Replace the vendored Auth0 Management API document and regenerate what derives from it.

    python scripts/refresh_auth0_spec.py PATH_OR_URL   # a newer management-api-oas.json(.gz)
    python scripts/refresh_auth0_spec.py               # re-derive from the vendored copy

Checks that the input is an OpenAPI 3.x document of Auth0's Management API
that still has every operation the gateway's catalog and the emulator use,
then writes spec/auth0/management-api-oas.json.gz (reproducible gzip), the
gateway's subset app/auth0_spec.json (scripts/extract_auth0_spec.py), the
emulator's emulator/auth0_subset.json (emulator.extract_spec) and the facts
block of spec/auth0/README.md, and prints what changed: operations added and
removed, and the used operations whose definition changed. Nothing is written
when the input is refused (exit 2).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import re
import sys
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.catalog import CATALOG, SPEC_FILE  # noqa: E402
from emulator import extract_spec  # noqa: E402
from scripts import auth0_document, extract_auth0_spec  # noqa: E402

README = auth0_document.VENDORED.parent / "README.md"
TITLE = "Auth0 Management API"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_BLOCK = re.compile(r"(<!-- auth0-document:start -->\n).*?(<!-- auth0-document:end -->)", re.S)
_VENDORED_ON = re.compile(r"\| Vendored on \| (\d{4}-\d{2}-\d{2}) \|")

Operation = tuple[str, str]  # (METHOD, path)


@dataclass(frozen=True)
class Targets:
    """Where a refresh writes (the repository's files unless a test says otherwise)."""

    vendored: Path = auth0_document.VENDORED
    app_subset: Path = SPEC_FILE
    emulator_subset: Path = extract_spec.OUTPUT
    readme: Path = README


def used_operations() -> set[Operation]:
    """Operations the gateway's catalog or the emulator read from the document."""
    return {(op.method.upper(), op.path) for op in CATALOG} | set(extract_spec.SUPPORTED)


def operations(document: dict[str, Any]) -> dict[Operation, str]:
    """(METHOD, path) -> operationId for every operation in the document."""
    found: dict[Operation, str] = {}
    for path, item in document.get("paths", {}).items():
        for method in HTTP_METHODS:
            if isinstance(item, dict) and isinstance(item.get(method), dict):
                found[(method.upper(), path)] = str(item[method].get("operationId", "?"))
    return found


def problems(document: Any) -> list[str]:
    """Why ``document`` cannot replace the vendored one (empty: it can)."""
    if not isinstance(document, dict):
        return ["the input is not a JSON object"]
    found: list[str] = []
    version = document.get("openapi")
    if not (isinstance(version, str) and version.startswith("3.")):
        found.append(f"'openapi' must be a 3.x version, got {version!r}")
    info = document.get("info") if isinstance(document.get("info"), dict) else {}
    if info.get("title") != TITLE:
        found.append(f"info.title must be {TITLE!r}, got {info.get('title')!r}")
    servers = document.get("servers") or []
    if not any(isinstance(s, dict) and str(s.get("url", "")).rstrip("/").endswith("/api/v2")
               for s in servers):
        found.append("no server URL ends in /api/v2 (the Management API v2)")
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    if "oAuth2ClientCredentials" not in schemes:
        found.append("components.securitySchemes has no oAuth2ClientCredentials "
                     "(the client-credentials scopes the gateway's tiers rely on)")
    if not isinstance(document.get("paths"), dict) or not document["paths"]:
        found.append("the document has no paths")
        return found
    present = operations(document)
    for method, path in sorted(used_operations() - set(present)):
        found.append(f"{method} {path} is used by the gateway or the emulator but is missing")
    return found


def _operation_object(document: dict[str, Any], op: Operation) -> Any:
    return document.get("paths", {}).get(op[1], {}).get(op[0].lower())


def _lines(title: str, ops: Iterable[Operation], ids: dict[Operation, str], sign: str
           ) -> list[str]:
    ops = sorted(ops, key=lambda o: (o[1], o[0]))
    return [f"{title} ({len(ops)}):"] + [f"  {sign} {m} {p}  {ids[(m, p)]}" for m, p in ops]


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Human-readable differences between two documents' operations."""
    after = operations(new)
    if old is None:
        return [f"no previous copy: {len(after)} operations"]
    before = operations(old)
    lines = _lines("operations added", set(after) - set(before), after, "+")
    lines += _lines("operations removed", set(before) - set(after), before, "-")
    changed = sorted(op for op in used_operations() & set(before) & set(after)
                     if _operation_object(old, op) != _operation_object(new, op))
    lines += _lines("operations the gateway or emulator use, changed", changed, after, "~")
    return lines


def facts_block(raw: bytes, document: dict[str, Any], vendored_on: str) -> str:
    info = document["info"]
    rows = [
        ("Title", info.get("title")),
        ("`info.version`", info.get("version")),
        ("OpenAPI", document.get("openapi")),
        ("`info.license`", (info.get("license") or {}).get("name", "(not stated)")),
        ("Operations", len(operations(document))),
        ("Paths", len(document.get("paths", {}))),
        ("sha256 of the JSON", f"`{hashlib.sha256(raw).hexdigest()}`"),
        ("Vendored on", vendored_on),
    ]
    return "\n".join(["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows])


def _fetch(source: str) -> bytes:
    if re.match(r"^https?://", source):
        with urllib.request.urlopen(source, timeout=60) as response:
            data: bytes = response.read()
        return auth0_document.decode(data)
    return auth0_document.read_bytes(Path(source))


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def refresh(raw: bytes | None, targets: Targets = Targets(),
            today: datetime.date | None = None) -> list[str]:
    """Vendor ``raw`` (None: keep the current copy), regenerate, and report. Raises ValueError."""
    old_raw = auth0_document.read_bytes(targets.vendored) if targets.vendored.exists() else None
    if raw is None:
        if old_raw is None:
            raise ValueError(f"no vendored copy at {targets.vendored}: give PATH_OR_URL")
        raw = old_raw
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the input is not JSON: {exc}") from None
    found = problems(document)
    if found:
        raise ValueError("\n".join(found))

    old = json.loads(old_raw) if old_raw is not None else None
    report = [f"{document['info']['title']} {document['info'].get('version')} "
              f"(OpenAPI {document['openapi']}), {len(operations(document))} operations"]
    report += changes(old, document)

    same = old_raw == raw
    if not same:
        auth0_document.write(raw, targets.vendored)
    report.append(f"{targets.vendored.name}: " + ("unchanged" if same else "replaced"))
    written = {
        targets.app_subset: extract_auth0_spec.render(targets.vendored),
        targets.emulator_subset: extract_spec.render(extract_spec.extract(raw)),
    }
    for path, text in written.items():
        report.append(f"{path.name}: " + ("rewritten" if _write_if_changed(path, text)
                                          else "unchanged"))
    readme = targets.readme.read_text(encoding="utf-8")
    kept = _VENDORED_ON.search(readme)
    vendored_on = (kept.group(1) if same and kept
                   else (today or datetime.datetime.now(datetime.UTC).date()).isoformat())
    if not _BLOCK.search(readme):
        raise ValueError(f"{targets.readme} has no <!-- auth0-document:start --> block")
    block = facts_block(raw, document, vendored_on).replace("\\", r"\\")
    fresh = _BLOCK.sub(r"\g<1>" + block + "\n" + r"\g<2>", readme)
    report.append(f"{targets.readme.name}: "
                  + ("rewritten" if _write_if_changed(targets.readme, fresh) else "unchanged"))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("source", nargs="?",
                        help="path or http(s) URL of a newer management-api-oas.json (or .gz); "
                             "omitted: re-derive from the vendored copy")
    args = parser.parse_args(argv)
    try:
        raw = _fetch(args.source) if args.source else None
        report = refresh(raw)
    except (OSError, ValueError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
