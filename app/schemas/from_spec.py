"""Build marshmallow schemas from the JSON Schemas in Auth0's OpenAPI document.

The parameter and body definitions of each catalog operation are Auth0's own
(types, lengths, patterns, formats, required fields); this module turns them
into marshmallow fields instead of retyping them. Unknown fields are always
rejected (`unknown=RAISE`), even where Auth0's schema allows extra properties:
a gateway forwards only what it understands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ..catalog import spec_document

# Auth0's user ids are `provider|id`; the id part is free-form but never holds
# control characters or a slash, and "." / ".." would be path segments.
USER_ID_RE = re.compile(r"^(?!\.{1,2}\Z)[^\x00-\x1f\x7f/\\?#%\s]{1,255}\Z")
_FORMATS: dict[str, validate.Validator] = {
    "user-id": validate.Regexp(USER_ID_RE, error="Not a valid user id."),
    "client-id": validate.Regexp(r"^[A-Za-z0-9_-]{1,128}\Z", error="Not a valid client id."),
    "organization-id": validate.Regexp(r"^org_[A-Za-z0-9]{1,64}\Z",
                                       error="Not a valid organization id."),
    "email": validate.Email(),
    "url": validate.URL(require_tld=False),
}


class StrictBoolean(fields.Boolean):
    """Only true/false (and JSON booleans): `yes`, `on`, `1` are not booleans here."""

    truthy = {"true", True}
    falsy = {"false", False}


def resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    _, _, kind, name = ref.split("/", 3)
    target: Mapping[str, Any] = spec_document()["components"][kind][name]
    return resolve(target)


def _validators(schema: Mapping[str, Any]) -> list[validate.Validator]:
    out: list[validate.Validator] = []
    if "minLength" in schema or "maxLength" in schema:
        out.append(validate.Length(min=schema.get("minLength"), max=schema.get("maxLength")))
    if "minimum" in schema or "maximum" in schema:
        out.append(validate.Range(min=schema.get("minimum"), max=schema.get("maximum")))
    if "minItems" in schema or "maxItems" in schema:
        out.append(validate.Length(min=schema.get("minItems"), max=schema.get("maxItems")))
    if "pattern" in schema:
        # JSON Schema patterns are ECMA-262, where `$` ends the string; Python's `$`
        # would also accept a trailing newline.
        pattern = schema["pattern"]
        if pattern.endswith("$") and not pattern.endswith("\\$"):
            pattern = pattern[:-1] + "\\Z"
        out.append(validate.Regexp(pattern))
    if "enum" in schema:
        out.append(validate.OneOf([v for v in schema["enum"] if v is not None]))
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        out.append(_FORMATS[fmt])
    return out


def field_for(schema: Mapping[str, Any], *, required: bool = False) -> fields.Field[Any]:
    schema = resolve(schema)
    types = schema.get("type", "object")
    type_list = types if isinstance(types, list) else [types]
    nullable = "null" in type_list
    kind = next((t for t in type_list if t != "null"), "object")
    options: dict[str, Any] = {"required": required, "allow_none": nullable,
                               "validate": _validators(schema)}
    if kind == "string":
        return fields.String(**options)
    if kind == "integer":
        return fields.Integer(strict=False, **options)
    if kind == "number":
        return fields.Float(**options)
    if kind == "boolean":
        return StrictBoolean(**options)
    if kind == "array":
        return fields.List(field_for(schema.get("items", {})), **options)
    if "properties" in schema and schema.get("additionalProperties") is False:
        return fields.Nested(object_schema(schema, name="Nested"), **options)
    # Free-form objects (user_metadata, app_metadata): JSON objects with string keys.
    return fields.Dict(keys=fields.String(), **options)


def object_schema(schema: Mapping[str, Any], *, name: str,
                  exclude: frozenset[str] = frozenset()) -> Schema:
    schema = resolve(schema)
    required = set(schema.get("required", []))
    declared = {
        prop: field_for(sub, required=prop in required)
        for prop, sub in schema.get("properties", {}).items() if prop not in exclude
    }
    return Schema.from_dict(declared, name=name)(unknown=RAISE)


def query_schema(operation: Mapping[str, Any], *, name: str,
                 exclude: frozenset[str] = frozenset()) -> Schema:
    declared: dict[str, fields.Field[Any]] = {}
    for parameter in operation.get("parameters", []):
        parameter = resolve(parameter)
        if parameter["in"] != "query" or parameter["name"] in exclude:
            continue
        declared[parameter["name"]] = field_for(parameter.get("schema", {}),
                                                required=bool(parameter.get("required")))
    return Schema.from_dict(declared, name=name)(unknown=RAISE)


def body_schema(operation: Mapping[str, Any], *, name: str,
                exclude: frozenset[str] = frozenset()) -> Schema | None:
    body = operation.get("requestBody")
    if not body:
        return None
    content = resolve(body)["content"]
    media = content.get("application/json") or next(iter(content.values()))
    return object_schema(media["schema"], name=name, exclude=exclude)


def validation_messages(error: ValidationError) -> dict[str, Any]:
    messages = error.messages
    return messages if isinstance(messages, dict) else {"_schema": messages}
