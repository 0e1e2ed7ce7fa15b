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
    """A query-string boolean: only `true` / `false`; `yes`, `on`, `1` are not booleans."""

    truthy = {"true"}
    falsy = {"false"}


class JsonBoolean(fields.Boolean):
    """A body boolean is a JSON boolean: never "true", "1", 1 or 0."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class JsonNumber(fields.Float):
    """A body number is a JSON number: never "1.5" nor true."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


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


def field_for(schema: Mapping[str, Any], *, required: bool = False,
              json_types: bool = False) -> fields.Field[Any]:
    """A marshmallow field for a JSON Schema.

    `json_types` (bodies): values must already have their JSON type (a boolean is
    true/false, an integer a JSON integer, a string a string); nothing is coerced,
    so the body forwarded to Auth0 is the one validated. Without it (query
    strings, which are text by nature) integers and booleans are parsed from text.
    """
    schema = resolve(schema)
    types = schema.get("type", "object")
    type_list = types if isinstance(types, list) else [types]
    nullable = "null" in type_list
    kind = next((t for t in type_list if t != "null"), "object")
    options: dict[str, Any] = {"required": required, "allow_none": nullable,
                               "validate": _validators(schema)}
    if kind == "string":
        return fields.String(**options)  # marshmallow refuses anything but a str
    if kind == "integer":
        return fields.Integer(strict=json_types, **options)  # strict: not "1", 1.0, true
    if kind == "number":
        return JsonNumber(**options) if json_types else fields.Float(**options)
    if kind == "boolean":
        return JsonBoolean(**options) if json_types else StrictBoolean(**options)
    if kind == "array":
        return fields.List(field_for(schema.get("items", {}), json_types=json_types), **options)
    if "properties" in schema and schema.get("additionalProperties") is False:
        return fields.Nested(object_schema(schema, name="Nested", json_types=json_types),
                             **options)
    # Free-form objects (user_metadata, app_metadata): JSON objects with string keys.
    return fields.Dict(keys=fields.String(), **options)


def object_schema(schema: Mapping[str, Any], *, name: str,
                  exclude: frozenset[str] = frozenset(), json_types: bool = True) -> Schema:
    schema = resolve(schema)
    required = set(schema.get("required", []))
    declared = {
        prop: field_for(sub, required=prop in required, json_types=json_types)
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
    return object_schema(media["schema"], name=name, exclude=exclude, json_types=True)


def validation_messages(error: ValidationError) -> dict[str, Any]:
    messages = error.messages
    return messages if isinstance(messages, dict) else {"_schema": messages}
