"""Safe composition of Lucene user searches: the caller's `q` AND the delegated-scope clause.

Auth0's user search v3 takes Lucene (Elasticsearch query_string) syntax. The
gateway restricts a scoped caller by sending

    (<caller's q>) AND app_metadata.department:"support"

which is only a restriction if the caller's text cannot leave its parentheses.
Everything that changes how the rest of the string is read is therefore
checked here before composing, and refused when it could:

- parentheses must balance and never close more than was opened (`a) OR (b`);
- quoted phrases and ranges (`[a TO b]`, `{a TO b}`) must close inside the
  caller's text, so our clause can never become part of them;
- a backslash must escape something: a trailing `\\` would escape our `)`;
- `/` starts a regular expression in query_string, which runs to the next
  `/` and could swallow our `)`: refused outside phrases (write `\\/`);
- control characters are refused;
- field names must be on an allow-list: hidden fields (identities[].access_token
  and other IdP credentials the response filter removes) must not be usable as
  a search oracle, and `*` field wildcards or escaped field names are refused.

The scope value is sent as a quoted phrase with `\\` and `"` escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# Fields a caller may search on (besides any app_metadata.* / user_metadata.* key).
SEARCHABLE_FIELDS = frozenset({
    "user_id", "email", "email_verified", "username", "phone_number", "phone_verified",
    "created_at", "updated_at", "last_login", "last_ip", "logins_count", "blocked", "name",
    "nickname", "given_name", "family_name", "picture", "multifactor",
    "identities.connection", "identities.provider", "identities.user_id",
    "identities.isSocial", "app_metadata", "user_metadata",
})
SEARCHABLE_PREFIXES = ("app_metadata.", "user_metadata.")
EXISTS_FIELD = "_exists_"
_FIELD_RE = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*\Z")
_WORD_END = set(" \t()\"[]{}")
_RANGE_FORBIDDEN = set('()"\\/[{')
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class QueryRefused(ValueError):
    """The caller's `q` could change the meaning of the clause appended to it."""


def searchable(field: str) -> bool:
    if not _FIELD_RE.match(field):
        return False
    return field in SEARCHABLE_FIELDS or field.startswith(SEARCHABLE_PREFIXES)


def phrase(value: str) -> str:
    """`value` as a Lucene phrase: inside quotes only `\\` and `"` are special."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_field(name: str, allowed: Callable[[str], bool]) -> None:
    if not allowed(name):
        raise QueryRefused(f"searching the field {name!r} is not allowed")


def _word(q: str, start: int) -> int:
    """End of the bare word starting at `start` (escapes kept inside the word)."""
    i = start
    while i < len(q) and q[i] not in _WORD_END:
        if q[i] == "\\":
            if i + 1 >= len(q):
                raise QueryRefused("a backslash at the end escapes nothing")
            i += 2
            continue
        if q[i] == "/":
            raise QueryRefused("regular expressions (/.../) are not allowed; escape / as \\/")
        i += 1
    return i


def _check_word(word: str, allowed: Callable[[str], bool], expect_field: bool) -> bool:
    """Check a bare word; returns True when it is `_exists_:` waiting for its field."""
    if expect_field:
        _check_field(word, allowed)
        return False
    # Lucene's prefix operators (+must, -must-not, !not) belong to the term, not its field.
    word = word.lstrip("+-!")
    # The field name is what stands before the first unescaped colon.
    i = 0
    while i < len(word):
        if word[i] == "\\":
            i += 2
            continue
        if word[i] == ":":
            name, rest = word[:i], word[i + 1:]
            if name == EXISTS_FIELD:
                if rest:
                    _check_field(rest, allowed)
                    return False
                return True
            if "\\" in name:
                raise QueryRefused("escaped characters in a field name are not allowed")
            _check_field(name, allowed)
            return False
        i += 1
    return False


def check_query(q: str, allowed: Callable[[str], bool] = searchable) -> None:
    """Raise QueryRefused unless `q` stays inside the parentheses it is wrapped in."""
    if _CONTROL.search(q):
        raise QueryRefused("control characters are not allowed")
    if any(char.isspace() and char not in " \t" for char in q):
        # Lucene also splits terms at U+3000 and other Unicode spaces: a word this
        # checker saw as one could be two terms there (`email:x\u3000secret:*`).
        raise QueryRefused("only spaces and tabs may separate terms")
    depth = 0
    i = 0
    expect_field = False  # after `_exists_:` the next word is a field name
    while i < len(q):
        char = q[i]
        if char in " \t":
            i += 1
            continue
        if char == "(":
            depth += 1
            i += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise QueryRefused("a ')' closes more than was opened")
            i += 1
        elif char == '"':
            i += 1
            while i < len(q) and q[i] != '"':
                i += 2 if q[i] == "\\" else 1
            if i >= len(q):
                raise QueryRefused("a quoted phrase is not closed")
            i += 1
        elif char in "[{":
            end = i + 1
            while end < len(q) and q[end] not in "]}":
                if q[end] in _RANGE_FORBIDDEN:
                    raise QueryRefused("a range may hold only plain values: [low TO high]")
                end += 1
            if end >= len(q):
                raise QueryRefused("a range is not closed")
            i = end + 1
        elif char in "]}":
            raise QueryRefused(f"a '{char}' closes a range that was never opened")
        else:
            end = _word(q, i)
            expect_field = _check_word(q[i:end], allowed, expect_field)
            i = end
            continue
        if expect_field:
            raise QueryRefused("_exists_ needs a field name")
    if expect_field:
        raise QueryRefused("_exists_ needs a field name")
    if depth:
        raise QueryRefused("a '(' is never closed")


def restrict(q: str | None, clauses: Iterable[tuple[str, str]]) -> str:
    """`(q) AND field:"value" AND ...`; `q` must have passed check_query."""
    parts = [f"{field}:{phrase(value)}" for field, value in clauses]
    if q is not None and q.strip():
        parts.insert(0, f"({q})")
    return " AND ".join(parts)
