"""Query string and payload validation with Auth0's error texts.

Auth0 validates requests against JSON schemas and reports the first problem
as ``"<Query|Payload> validation error: '<detail>' on property <name>
(<description>)."``; details use z-schema's wording. The schemas come from
the spec subset, so limits (``per_page`` <= 100, ...) are Auth0's own.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.datastructures import MultiDict

from emulator.errors import ManagementError
from emulator.management.spec import Operation

INVALID_QUERY = "invalid_query_string"
INVALID_BODY = "invalid_body"
# Auth0 documents no nesting limit; its user store (MongoDB) keeps at most 100 levels per
# document, the user being the first, so a field holds at most 99 (docs/limits.md).
MAX_FIELD_DEPTH = 99
_INTEGER = re.compile(r"^-?\d+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def nesting_depth(value: Any) -> int:
    """Levels of objects and arrays (0 for a scalar), measured without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _fail(
    kind: str, detail: str, name: str | None, schema: dict[str, Any] | None
) -> ManagementError:
    message = f"{kind} validation error: '{detail}'"
    if name is not None:
        message += f" on property {name}"
        description = (schema or {}).get("description")
        if description:
            message += f" ({description.rstrip('.')})"
    code = INVALID_QUERY if kind == "Query" else INVALID_BODY
    return ManagementError(400, message + ".", code)


def parse_query(op: Operation, args: MultiDict[str, str]) -> dict[str, Any]:
    """Typed values of the operation's known query parameters; unknown ones are ignored."""
    for name in op.required_query:
        if not args.get(name):
            raise _fail("Query", f"Missing required property: {name}", None, None)
    out: dict[str, Any] = {}
    for name, schema in op.query.items():
        if name in args:
            out[name] = _coerce(name, args.get(name, ""), schema)
    return out


def _coerce(name: str, raw: str, schema: dict[str, Any]) -> Any:
    types = schema.get("type", ["string"])
    value: Any = raw
    if "integer" in types:
        if not _INTEGER.match(raw):
            raise _fail("Query", "Expected type integer but found type string", name, schema)
        value = int(raw)
    elif "boolean" in types:
        if raw not in ("true", "false"):
            raise _fail("Query", "Expected type boolean but found type string", name, schema)
        value = raw == "true"
    _check_constraints("Query", name, value, schema)
    return value


def validate_body(op: Operation, body: Any, *, allow_additional: bool | None = None
                  ) -> dict[str, Any]:
    """Check a JSON payload against the operation's body schema; return it as a dict."""
    schema = op.body or {"properties": {}, "required": [], "additionalProperties": True}
    if not isinstance(body, dict):
        raise _fail("Payload", f"Expected type object but found type {json_type(body)}",
                    None, None)
    for name, value in body.items():
        # Refused before it is stored: what could not be read back must never be kept.
        depth = nesting_depth(value)
        if depth > MAX_FIELD_DEPTH:
            raise _fail("Payload", f"Object nested too deeply ({depth} levels), maximum "
                        f"{MAX_FIELD_DEPTH}", name, schema["properties"].get(name))
    for name in schema["required"]:
        if name not in body:
            raise _fail("Payload", f"Missing required property: {name}", None, None)
    additional = schema["additionalProperties"] if allow_additional is None else allow_additional
    unknown = [k for k in body if k not in schema["properties"]]
    if unknown and not additional:
        raise _fail("Payload", f"Additional properties not allowed: {','.join(unknown)}",
                    None, None)
    for name, prop in schema["properties"].items():
        if name in body:
            _check_value("Payload", name, body[name], prop)
    return body


def _check_value(kind: str, name: str, value: Any, schema: dict[str, Any]) -> None:
    types = schema.get("type")
    found = json_type(value)
    if types:
        ok = found in types or (found == "integer" and "number" in types)
        if not ok:
            raise _fail(kind, f"Expected type {','.join(types)} but found type {found}",
                        name, schema)
    _check_constraints(kind, name, value, schema)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check_value(kind, f"{name}[{index}]", item, schema["items"])


def _check_constraints(kind: str, name: str, value: Any, schema: dict[str, Any]) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise _fail(kind, f"Value {value} is less than minimum {schema['minimum']}",
                        name, schema)
        if "maximum" in schema and value > schema["maximum"]:
            raise _fail(kind, f"Value {value} is greater than maximum {schema['maximum']}",
                        name, schema)
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise _fail(kind, f"String is too short ({len(value)} chars), minimum "
                        f"{schema['minLength']}", name, schema)
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise _fail(kind, f"String is too long ({len(value)} chars), maximum "
                        f"{schema['maxLength']}", name, schema)
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise _fail(kind, f"String does not match pattern {schema['pattern']}: {value}",
                        name, schema)
        if schema.get("format") == "email" and not _EMAIL.match(value):
            raise _fail(kind, f"Object didn't pass validation for format email: {value}",
                        name, schema)
    if "enum" in schema and value not in schema["enum"]:
        raise _fail(kind, f"No enum match for: {value}", name, schema)
    if isinstance(value, list) and "minItems" in schema and len(value) < schema["minItems"]:
        raise _fail(kind, f"Array is too short ({len(value)}), minimum {schema['minItems']}",
                    name, schema)
