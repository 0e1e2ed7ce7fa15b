"""The subset of Lucene query syntax Auth0's user search v3 understands.

Supported (see docs/emulator.md): ``field:value``, quoted values, implicit AND,
``AND``/``OR``/``NOT`` (also ``&&``, ``||``, ``!``, leading ``-``), parentheses,
``field:(a OR b)``, ``*`` wildcards, ``field:*`` and ``_exists_:field``,
ranges ``[a TO b]``/``{a TO b}`` with ``*`` as open end, backslash escapes and
nested fields such as ``app_metadata.department`` or ``identities.connection``.
A value without a field searches a few profile fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Fields a value without a field name is matched against (emulator's choice).
DEFAULT_FIELDS = ("email", "name", "nickname", "given_name", "family_name", "user_id",
                  "username")
# Metadata is matched case-sensitively, normalized profile fields are not.
CASE_SENSITIVE_PREFIXES = ("app_metadata", "user_metadata")
_TERMINATORS = set(" \t\r\n()")


class LuceneError(ValueError):
    """A query the parser cannot read; rendered as a 400 invalid_query_string."""


@dataclass(frozen=True)
class Term:
    field: str | None
    kind: str  # "exact" | "wildcard" | "exists" | "range"
    value: str = ""
    pattern: str = ""  # regex for wildcards
    low: str | None = None
    high: str | None = None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class All:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    nodes: tuple[Node, ...]


Node = Term | Not | All | Any_


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    # -- helpers ------------------------------------------------------------------

    def _skip(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def _at_end(self) -> bool:
        self._skip()
        return self.i >= len(self.s)

    def _keyword(self, *words: str) -> str | None:
        """The operator at the cursor (without consuming it), if any."""
        self._skip()
        for word in words:
            end = self.i + len(word)
            if self.s[self.i:end] != word:
                continue
            if word.isalpha() and end < len(self.s) and self.s[end] not in _TERMINATORS:
                continue  # "ORACLE" is a term, not OR
            return word
        return None

    def _consume(self, word: str) -> None:
        self._skip()
        self.i += len(word)

    # -- grammar ------------------------------------------------------------------

    def parse(self) -> Node:
        if self._at_end():
            raise LuceneError("Empty query")
        node = self._or(None)
        if not self._at_end():
            raise LuceneError(f"Unexpected '{self.s[self.i]}' at position {self.i}")
        return node

    def _or(self, field: str | None) -> Node:
        nodes = [self._and(field)]
        while (op := self._keyword("OR", "||")) is not None:
            self._consume(op)
            nodes.append(self._and(field))
        return nodes[0] if len(nodes) == 1 else Any_(tuple(nodes))

    def _and(self, field: str | None) -> Node:
        nodes = [self._unary(field)]
        while not self._at_end() and self.s[self.i] != ")" and self._keyword("OR", "||") is None:
            if (op := self._keyword("AND", "&&")) is not None:
                self._consume(op)
            nodes.append(self._unary(field))  # juxtaposition is an implicit AND
        return nodes[0] if len(nodes) == 1 else All(tuple(nodes))

    def _unary(self, field: str | None) -> Node:
        if self._at_end():
            raise LuceneError("Unexpected end of query")
        if (op := self._keyword("AND", "OR", "&&", "||")) is not None:
            raise LuceneError(f"Unexpected operator {op} at position {self.i}")
        if (op := self._keyword("NOT", "!")) is not None:
            self._consume(op)
            return Not(self._unary(field))
        char = self.s[self.i]
        if char == "-" or char == "+":
            self.i += 1
            inner = self._unary(field)
            return Not(inner) if char == "-" else inner
        if char == "(":
            self.i += 1
            node = self._or(field)
            if self._at_end() or self.s[self.i] != ")":
                raise LuceneError("Missing closing parenthesis")
            self.i += 1
            return node
        if char == ")":
            raise LuceneError(f"Unexpected ')' at position {self.i}")
        return self._term(field)

    def _term(self, default_field: str | None) -> Node:
        start = self.i
        name = self._field_name()
        if name is not None:
            if name == "_exists_":
                target = self._word()[0]
                if not target:
                    raise LuceneError("_exists_ needs a field name")
                return Term(field=target, kind="exists")
            if default_field is not None:
                raise LuceneError(f"Nested field at position {start}")
            if self.i < len(self.s) and self.s[self.i] == "(":
                self.i += 1
                node = self._or(name)
                if self._at_end() or self.s[self.i] != ")":
                    raise LuceneError("Missing closing parenthesis")
                self.i += 1
                return node
            return self._value(name)
        return self._value(default_field)

    def _field_name(self) -> str | None:
        """Read ``name:`` at the cursor, or leave the cursor alone and return None."""
        match = re.compile(r"[A-Za-z0-9_.\-]+:").match(self.s, self.i)
        if match is None or match.group(0).startswith("-"):
            return None
        self.i = match.end()
        return match.group(0)[:-1]

    def _value(self, field: str | None) -> Node:
        if self.i >= len(self.s) or self.s[self.i].isspace():
            raise LuceneError(f"Missing value for field {field}")
        char = self.s[self.i]
        if char == '"':
            return Term(field=field, kind="exact", value=self._quoted())
        if char in "[{":
            return self._range(field)
        text, wildcard = self._word()
        if not text:
            raise LuceneError(f"Missing value at position {self.i}")
        if wildcard == "*":
            return Term(field=field, kind="exists")
        if wildcard:
            return Term(field=field, kind="wildcard", value=text, pattern=wildcard)
        return Term(field=field, kind="exact", value=text)

    def _quoted(self) -> str:
        self.i += 1  # opening quote
        out: list[str] = []
        while self.i < len(self.s):
            char = self.s[self.i]
            if char == "\\" and self.i + 1 < len(self.s):
                out.append(self.s[self.i + 1])
                self.i += 2
                continue
            if char == '"':
                self.i += 1
                return "".join(out)
            out.append(char)
            self.i += 1
        raise LuceneError("Unterminated quoted value")

    def _word(self) -> tuple[str, str]:
        """A bare value with escapes resolved, and its wildcard regex ("" if none)."""
        text: list[str] = []
        regex: list[str] = []
        wildcard = False
        while self.i < len(self.s) and self.s[self.i] not in _TERMINATORS:
            char = self.s[self.i]
            if char == "\\":
                if self.i + 1 >= len(self.s):
                    raise LuceneError("Dangling escape character")
                char = self.s[self.i + 1]
                self.i += 2
                text.append(char)
                regex.append(re.escape(char))
                continue
            self.i += 1
            if char in "*?":
                wildcard = True
                text.append(char)
                regex.append(".*" if char == "*" else ".")
                continue
            text.append(char)
            regex.append(re.escape(char))
        value = "".join(text)
        if wildcard:
            return value, "*" if value == "*" else "".join(regex)
        return value, ""

    def _range(self, field: str | None) -> Node:
        include_low = self.s[self.i] == "["
        close = self.s.find("]" if include_low else "}", self.i)
        other = self.s.find("}" if include_low else "]", self.i)
        if close == -1 and other == -1:
            raise LuceneError("Unterminated range")
        end = min(p for p in (close, other) if p != -1)
        body = self.s[self.i + 1:end]
        parts = re.split(r"\s+TO\s+", body.strip())
        if len(parts) != 2:
            raise LuceneError("Range must look like [low TO high]")
        low, high = (p.strip().strip('"') for p in parts)
        include_high = self.s[end] == "]"
        self.i = end + 1
        return Term(field=field, kind="range", low=None if low == "*" else low,
                    high=None if high == "*" else high, include_low=include_low,
                    include_high=include_high)


def parse(text: str) -> Node:
    return _Parser(text).parse()


# -- matching ---------------------------------------------------------------------


def _leaves(document: Any, path: list[str]) -> Iterator[Any]:
    if isinstance(document, list):
        for item in document:
            yield from _leaves(item, path)
        return
    if not path:
        if document is not None:
            yield document
        return
    if isinstance(document, dict) and path[0] in document:
        yield from _leaves(document[path[0]], path[1:])


def field_values(document: dict[str, Any], field: str) -> list[Any]:
    """All non-null values at a dotted path; lists fan out (identities.connection)."""
    return list(_leaves(document, field.split(".")))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _case_sensitive(field: str) -> bool:
    return field.startswith(CASE_SENSITIVE_PREFIXES)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _in_range(value: Any, term: Term) -> bool:
    text = _text(value)
    for bound, inclusive, sign in ((term.low, term.include_low, 1),
                                   (term.high, term.include_high, -1)):
        if bound is None:
            continue
        left, right = _number(text), _number(bound)
        cmp: float
        if left is not None and right is not None:
            cmp = left - right
        else:
            cmp = (text > bound) - (text < bound)
        if sign * cmp < 0 or (cmp == 0 and not inclusive):
            return False
    return True


def _term_matches(term: Term, document: dict[str, Any]) -> bool:
    fields = (term.field,) if term.field else DEFAULT_FIELDS
    for field in fields:
        values = [v for v in field_values(document, field) if not isinstance(v, (dict, list))]
        if term.kind == "exists":
            if field_values(document, field):
                return True
            continue
        sensitive = _case_sensitive(field)
        for value in values:
            if term.kind == "range":
                if _in_range(value, term):
                    return True
                continue
            text = _text(value)
            if term.kind == "wildcard":
                flags = 0 if sensitive else re.IGNORECASE
                if re.fullmatch(term.pattern, text, flags | re.DOTALL):
                    return True
            elif text == term.value or (not sensitive and text.lower() == term.value.lower()):
                return True
    return False


def matches(node: Node, document: dict[str, Any]) -> bool:
    if isinstance(node, Term):
        return _term_matches(node, document)
    if isinstance(node, Not):
        return not matches(node.node, document)
    if isinstance(node, All):
        return all(matches(n, document) for n in node.nodes)
    return any(matches(n, document) for n in node.nodes)
