"""Derive ``emulator/auth0_subset.json`` from Auth0's Management API OpenAPI document.

The emulator must not need the 3.7 MB spec at run time, yet the scopes each
operation accepts must come from Auth0's spec, not be retyped. So this script
extracts, for the operations the emulator serves: method, path, operationId,
accepted client-credentials scopes, query parameters and the request body's
top-level schema. The output is committed; a test checks that regenerating it
from the vendored spec (spec/auth0/) gives the identical file.

    python -m emulator.extract_spec path/to/management-api-oas.json [-o out.json]

`python scripts/refresh_auth0_spec.py` runs this on the vendored copy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).with_name("auth0_subset.json")

# (METHOD, path) of every Management API operation the emulator implements.
SUPPORTED: tuple[tuple[str, str], ...] = (
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users-by-email"),
    ("GET", "/users/{id}"),
    ("PATCH", "/users/{id}"),
    ("DELETE", "/users/{id}"),
    ("GET", "/users/{id}/roles"),
    ("POST", "/users/{id}/roles"),
    ("DELETE", "/users/{id}/roles"),
    ("GET", "/users/{id}/permissions"),
    ("GET", "/users/{id}/logs"),
    ("DELETE", "/users/{id}/authenticators"),
    ("GET", "/user-blocks/{id}"),
    ("DELETE", "/user-blocks/{id}"),
    ("POST", "/tickets/password-change"),
    ("POST", "/jobs/verification-email"),
    ("GET", "/roles"),
    # Provisioning (`admin-gateway tenant apply|check`): docs/provisioning.md.
    ("GET", "/resource-servers"),
    ("POST", "/resource-servers"),
    ("GET", "/resource-servers/{id}"),
    ("PATCH", "/resource-servers/{id}"),
    ("GET", "/clients"),
    ("POST", "/clients"),
    ("GET", "/clients/{id}"),
    ("PATCH", "/clients/{id}"),
    ("GET", "/client-grants"),
    ("POST", "/client-grants"),
    ("PATCH", "/client-grants/{id}"),
    ("POST", "/roles"),
    ("GET", "/roles/{id}/permissions"),
    ("POST", "/roles/{id}/permissions"),
    ("DELETE", "/roles/{id}/permissions"),
    ("GET", "/actions/actions"),
    ("POST", "/actions/actions"),
    ("GET", "/actions/actions/{id}"),
    ("PATCH", "/actions/actions/{id}"),
    ("POST", "/actions/actions/{id}/deploy"),
    ("GET", "/actions/triggers/{triggerId}/bindings"),
    ("PATCH", "/actions/triggers/{triggerId}/bindings"),
    # Direct permissions, sessions and refresh tokens (Enterprise plans only), MFA detail,
    # linked identities, organization membership and role members.
    ("POST", "/users/{id}/permissions"),
    ("DELETE", "/users/{id}/permissions"),
    ("GET", "/users/{user_id}/sessions"),
    ("DELETE", "/users/{user_id}/sessions"),
    ("GET", "/sessions/{id}"),
    ("DELETE", "/sessions/{id}"),
    ("GET", "/users/{user_id}/refresh-tokens"),
    ("DELETE", "/users/{user_id}/refresh-tokens"),
    ("GET", "/refresh-tokens/{id}"),
    ("DELETE", "/refresh-tokens/{id}"),
    ("POST", "/users/{id}/revoke-access"),
    ("GET", "/users/{id}/enrollments"),
    ("GET", "/users/{id}/authentication-methods"),
    ("DELETE", "/users/{id}/authentication-methods"),
    ("GET", "/users/{id}/authentication-methods/{authentication_method_id}"),
    ("DELETE", "/users/{id}/authentication-methods/{authentication_method_id}"),
    ("POST", "/users/{id}/multifactor/actions/invalidate-remember-browser"),
    ("POST", "/users/{id}/recovery-code-regeneration"),
    ("DELETE", "/users/{id}/identities/{provider}/{user_id}"),
    ("GET", "/users/{id}/organizations"),
    ("GET", "/organizations/{id}/members"),
    ("POST", "/organizations/{id}/members"),
    ("DELETE", "/organizations/{id}/members"),
    ("GET", "/organizations/{id}/members/{user_id}/roles"),
    ("POST", "/organizations/{id}/members/{user_id}/roles"),
    ("DELETE", "/organizations/{id}/members/{user_id}/roles"),
    ("GET", "/organizations/{id}/invitations"),
    ("POST", "/organizations/{id}/invitations"),
    ("DELETE", "/organizations/{id}/invitations/{invitation_id}"),
    ("GET", "/roles/{id}/users"),
)
# Schema keywords the emulator's validator understands.
KEYWORDS = ("type", "minimum", "maximum", "minLength", "maxLength", "pattern", "format",
            "enum", "minItems", "maxItems")


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"external $ref not supported: {ref}")
        node: Any = spec
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def _compact(spec: dict[str, Any], schema: dict[str, Any], description: str | None = None
             ) -> dict[str, Any]:
    schema = _resolve(spec, schema)
    out: dict[str, Any] = {k: schema[k] for k in KEYWORDS if k in schema}
    if "type" not in out and "oneOf" in schema:
        types = sorted({_resolve(spec, s).get("type", "object") for s in schema["oneOf"]})
        out["type"] = types if len(types) > 1 else types[0]
    if isinstance(out.get("type"), str):
        out["type"] = [out["type"]]
    items = schema.get("items")
    if isinstance(items, dict):
        out["items"] = _compact(spec, items)
    text = description if description is not None else schema.get("description")
    if text:
        out["description"] = " ".join(str(text).split())
    return out


def _scopes(operation: dict[str, Any]) -> list[str]:
    for requirement in operation.get("security", []):
        if "oAuth2ClientCredentials" in requirement:
            return list(requirement["oAuth2ClientCredentials"])
    return []


def _body(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    media = content.get("application/json")
    if media is None:
        return None
    schema = _resolve(spec, media["schema"])
    properties = {
        name: _compact(spec, prop, prop.get("description"))
        for name, prop in schema.get("properties", {}).items()
    }
    return {
        "required": list(schema.get("required", [])),
        "additionalProperties": bool(schema.get("additionalProperties", True)),
        "properties": properties,
    }


def _operation(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation = spec["paths"][path][method.lower()]
    query: dict[str, Any] = {}
    required: list[str] = []
    for parameter in operation.get("parameters", []):
        parameter = _resolve(spec, parameter)
        if parameter.get("in") != "query":
            continue
        query[parameter["name"]] = _compact(spec, parameter.get("schema", {}),
                                            parameter.get("description"))
        if parameter.get("required"):
            required.append(parameter["name"])
    return {
        "operationId": operation["operationId"],
        "method": method,
        "path": path,
        "scopes": _scopes(operation),
        "query": query,
        "required_query": required,
        "body": _body(spec, operation),
        "responses": sorted(operation.get("responses", {})),
    }


def extract(raw: bytes) -> dict[str, Any]:
    """The subset, from the document's JSON bytes (hashed as given)."""
    spec = json.loads(raw)
    return {
        "source": {
            "title": spec["info"]["title"],
            "version": spec["info"].get("version"),
            "sha256": hashlib.sha256(raw).hexdigest(),
        },
        "operations": [_operation(spec, m, p) for m, p in SUPPORTED],
    }


def render(subset: dict[str, Any]) -> str:
    return json.dumps(subset, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("spec", type=Path, help="Auth0 management-api-oas.json (plain JSON; "
                        "scripts/refresh_auth0_spec.py reads the vendored .gz)")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    args.output.write_text(render(extract(args.spec.read_bytes())), encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
