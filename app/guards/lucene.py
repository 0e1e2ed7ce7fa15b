"""Canonical Lucene user searches: parse the caller's `q`, refuse what is unsafe, resend
our own reading of it together with the delegated-scope clauses.

Auth0's user search v3 reads `q` with Elasticsearch's query_string, i.e. Apache Lucene's
classic QueryParser. `parse` reads `q` with that grammar into Lucene's own model (boolean
nodes of MUST / SHOULD / MUST_NOT clauses over term, phrase, prefix, wildcard, range and
`_exists_` leaves) and refuses anything outside a small documented subset; `serialize`
writes a tree back in a canonical form (everything escaped, every group parenthesized,
every occur explicit); `restrict` sends `+(<canonical q>) +field:"value" ...`. The text
Auth0 receives is therefore always ours, never the caller's. Design: docs/guardrails.md.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

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

MAX_LENGTH = 1024  # characters of q
MAX_DEPTH = 10  # nested parentheses
MAX_LEAVES = 64  # terms, phrases, wildcards, ranges and _exists_ in one q

_FIELD_RE = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*\Z")
# A range bound: a plain value (numbers, dates, times, ids) or * for an open end.
_RANGE_VALUE_RE = re.compile(r"[A-Za-z0-9._:@+-]+\Z")


class QueryRefused(ValueError):
    """The caller's `q` is outside the subset the gateway reads and resends."""

    def __init__(self, position: int, problem: str) -> None:
        super().__init__(f"at character {position}: {problem}")
        self.position = position  # 1-based; len(q) + 1 means "at the end"
        self.problem = problem


def searchable(field: str) -> bool:
    if not _FIELD_RE.match(field):
        return False
    return field in SEARCHABLE_FIELDS or field.startswith(SEARCHABLE_PREFIXES)


def phrase(value: str) -> str:
    """`value` as a Lucene phrase: inside quotes only `\\` and `"` are special."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- the tree: Lucene's own model of a parsed query --------------------------------------


class Occur(enum.StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"
    MUST_NOT = "MUST_NOT"


@dataclass(frozen=True)
class Term:
    field: str | None  # None: Auth0's default fields
    text: str  # unescaped


@dataclass(frozen=True)
class Phrase:
    field: str | None
    text: str  # unescaped, words separated by spaces


@dataclass(frozen=True)
class Prefix:
    field: str | None
    text: str  # what the value starts with (Lucene's PrefixQuery: without the `*`)


@dataclass(frozen=True)
class Wildcard:
    field: str | None
    pattern: str  # every `*` and `?` is a wildcard; never holds `\\`


@dataclass(frozen=True)
class Range:
    field: str | None
    low: str | None  # None: open (`*`)
    high: str | None
    include_low: bool
    include_high: bool


@dataclass(frozen=True)
class Exists:
    field: str  # `_exists_:field`, which Lucene reads as a term on the field _exists_


@dataclass(frozen=True)
class Bool:
    clauses: tuple[tuple[Occur, Node], ...]


Leaf = Term | Phrase | Prefix | Wildcard | Range | Exists
Node = Leaf | Bool


# -- lexer: QueryParser.jj's token definitions --------------------------------------------

# Lucene's _WHITESPACE (QueryParser.jj); of these only space and tab get past _check_chars.
_GRAMMAR_SPACE = frozenset(" \t\n\r\u3000")
# Characters that cannot start a term (_TERM_START_CHAR excludes them unless escaped).
_NOT_TERM_START = _GRAMMAR_SPACE | frozenset('+-!():^[]"{}~*?\\/')
_WILD = frozenset("*?")

# Token kinds, in QueryParser.jj's declaration order (the earlier one wins a tie).
AND, OR, NOT, PLUS, MINUS, BAREOPER, LPAREN, RPAREN, COLON, STAR = (
    "AND", "OR", "NOT", "+", "-", "BAREOPER", "(", ")", ":", "*")
QUOTED, TERM, PREFIXTERM, WILDTERM, RANGE_START, EOF = (
    "QUOTED", "TERM", "PREFIXTERM", "WILDTERM", "RANGE_START", "EOF")
RANGE_TO, RANGE_END, RANGE_GOOP = "TO", "RANGE_END", "RANGE_GOOP"

_CLAUSE_START = frozenset({TERM, STAR, PREFIXTERM, WILDTERM, QUOTED, RANGE_START, LPAREN,
                           BAREOPER})
# QueryParser.disallowedPostMultiTerm: a TERM followed by one of these ends a MultiTerm.
_ENDS_MULTITERM = frozenset({COLON, STAR, AND, OR})


@dataclass(frozen=True)
class _Token:
    kind: str
    image: str
    start: int  # 0-based index into q


def _refuse(index: int, problem: str) -> QueryRefused:
    return QueryRefused(index + 1, problem)


def _check_chars(q: str) -> None:
    """Characters on which readers disagree are refused before anything is read."""
    if len(q) > MAX_LENGTH:
        raise _refuse(MAX_LENGTH, f"a query may hold at most {MAX_LENGTH} characters")
    for index, char in enumerate(q):
        if char in " \t":
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            raise _refuse(index, "control characters are not allowed")
        if char.isspace() or category.startswith("Z"):
            # Lucene splits terms at U+3000 (grammar) and at every Character.isWhitespace
            # (analyzers), Elasticsearch's analyzers at other Unicode spaces again.
            raise _refuse(index, "only spaces and tabs may separate terms")
        if category.startswith("C"):
            raise _refuse(index, "invisible, private-use or unassigned characters are "
                                 "not allowed")


def _word_end(q: str, start: int, wild: bool) -> int:
    """End of a run of _TERM_CHAR (and `*`/`?` when `wild`) starting at `start`."""
    i = start
    while i < len(q):
        char = q[i]
        if char == "\\":
            if i + 1 >= len(q):
                break  # a lone backslash is no term character
            i += 2
        elif char in "+-" or char not in _NOT_TERM_START or (wild and char in _WILD):
            i += 1
        else:
            break
    return i


def _tokens(q: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(q):
        char = q[i]
        if char in _GRAMMAR_SPACE:
            i += 1
            continue
        if char == "[" or char == "{":
            tokens.append(_Token(RANGE_START, char, i))
            i = _range_tokens(q, i + 1, tokens)
            continue
        if char in "]}":
            raise _refuse(i, f"a '{char}' closes a range that was never opened")
        if char == "/":
            raise _refuse(i, "regular expressions (/.../) are not allowed")
        if char == "~":
            raise _refuse(i, "fuzzy and proximity searches (~) are not allowed")
        if char == "^":
            raise _refuse(i, "boosts (^) are not allowed")
        if char == '"':
            end = i + 1
            while end < len(q) and q[end] != '"':
                end += 2 if q[end] == "\\" else 1
            if end >= len(q):
                raise _refuse(i, "a quoted phrase is not closed")
            tokens.append(_Token(QUOTED, q[i:end + 1], i))
            i = end + 1
            continue
        if char == "\\" and i + 1 >= len(q):
            raise _refuse(i, "a backslash at the end escapes nothing")
        if char in "()":
            tokens.append(_Token(LPAREN if char == "(" else RPAREN, char, i))
            i += 1
            continue
        if char == ":":
            tokens.append(_Token(COLON, char, i))
            i += 1
            continue
        if char in "+-!":
            if i + 1 < len(q) and q[i + 1] in _GRAMMAR_SPACE:
                tokens.append(_Token(BAREOPER, q[i:i + 2], i))
                i += 2
            else:
                tokens.append(_Token({"+": PLUS, "-": MINUS, "!": NOT}[char], char, i))
                i += 1
            continue
        # A word: TERM, PREFIXTERM, WILDTERM or STAR, or the keywords AND/OR/NOT/&&/||,
        # whichever matches the longest text (JavaCC's rule; ties go to the keyword).
        term_end = _word_end(q, i, wild=False) if char not in _WILD else i
        # WILDTERM: (_TERM_START_CHAR | [*?]) (_TERM_CHAR | [*?])*; an escape is one char.
        wild_end = _word_end(q, i + (2 if char == "\\" else 1), wild=True)
        candidates: list[tuple[int, str]] = []
        for keyword, kind in (("AND", AND), ("&&", AND), ("OR", OR), ("||", OR),
                              ("NOT", NOT)):
            if q.startswith(keyword, i):
                candidates.append((len(keyword), kind))
        if char == "*":
            candidates.append((1, STAR))
        if term_end > i:
            candidates.append((term_end - i, TERM))
            if term_end < len(q) and q[term_end] == "*":
                candidates.append((term_end + 1 - i, PREFIXTERM))
        candidates.append((wild_end - i, WILDTERM))
        length, kind = max(candidates, key=lambda c: c[0])  # max keeps the first of ties
        tokens.append(_Token(kind, q[i:i + length], i))
        i += length
    tokens.append(_Token(EOF, "", len(q)))
    return tokens


def _range_tokens(q: str, i: int, tokens: list[_Token]) -> int:
    """QueryParser.jj's Range lexical state, up to and including `]` or `}`."""
    while i < len(q):
        char = q[i]
        if char == " ":
            i += 1
            continue
        if char in "]}":
            tokens.append(_Token(RANGE_END, char, i))
            return i + 1
        end = i
        while end < len(q) and q[end] not in " ]}":
            end += 1
        if char == '"' or "\t" in q[i:end]:
            # RANGE_QUOTED has its own escaping rules, and Lucene skips a tab or keeps it
            # in the value depending on what follows it: neither is a plain value.
            raise _refuse(i, "a range may hold only plain values: [low TO high]")
        image = q[i:end]
        tokens.append(_Token(RANGE_TO if image == "TO" else RANGE_GOOP, image, i))
        i = end
    raise _refuse(len(q), "a range is not closed")


# -- parser: QueryParser.jj's productions and QueryParserBase.addClause --------------------


def _unescape(image: str, start: int) -> str:
    """QueryParserBase.discardEscapeChar, without its \\uXXXX escapes (refused)."""
    out: list[str] = []
    i = 0
    while i < len(image):
        char = image[i]
        if char == "\\":
            escaped = image[i + 1]
            if escaped == "u":
                raise _refuse(start + i, "\\u escapes are not allowed")
            out.append(escaped)
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _check_text(text: str, start: int, what: str) -> None:
    """Term texts: nothing whose meaning depends on who reads it."""
    if any(char.isspace() for char in text):
        # An escaped space makes one Lucene term that analyzers split again.
        raise _refuse(start, f"{what} may not contain spaces (quote it instead)")
    if "\\" in text:
        raise _refuse(start, f"{what} may not contain a backslash")
    if "*" in text or "?" in text:
        # A literal `\\*`: Lucene keeps the backslash for wildcard queries; not all readers do.
        raise _refuse(start, f"{what} may not contain an escaped '*' or '?'")


class _Parser:
    def __init__(self, q: str, allowed: Callable[[str], bool]) -> None:
        self.allowed = allowed
        self.tokens = _tokens(q)
        self.i = 0
        self.leaves = 0
        self.depth = 0  # open parentheses at the cursor

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def top(self) -> Node:
        node = self.query(None)
        token = self.peek()
        if token.kind == RPAREN:
            raise _refuse(token.start, "a ')' closes more than was opened")
        if token.kind != EOF:
            raise self.unexpected(token)
        return node

    def unexpected(self, token: _Token) -> QueryRefused:
        if token.kind == EOF:
            return _refuse(token.start, "the query ends where a search term is expected")
        if token.kind == COLON:
            return _refuse(token.start, "a ':' must follow a plain field name")
        if token.kind == RPAREN:
            if self.depth == 0:
                return _refuse(token.start, "a ')' closes more than was opened")
            return _refuse(token.start, "a search term is expected before ')'")
        return _refuse(token.start, f"{token.image!r} is not expected here")

    # Query ::= ( MultiTerm | Modifiers Clause ) ( MultiTerm | Conjunction Modifiers Clause )*
    def query(self, field: str | None) -> Node:
        clauses: list[tuple[Occur, Node]] = []
        first: Node | None = None
        if self.multiterm_ahead():
            self.multiterm(field, clauses)
        else:
            required, prohibited = self.modifiers()
            node = self.clause(field)
            _add_clause(clauses, None, required, prohibited, node)
            if not required and not prohibited:
                first = node
        while True:
            if self.multiterm_ahead():
                self.multiterm(field, clauses)
                continue
            kind = self.peek().kind
            if kind not in _CLAUSE_START and kind not in (AND, OR, NOT, PLUS, MINUS):
                break
            conj = self.take().kind if kind in (AND, OR) else None
            required, prohibited = self.modifiers()
            node = self.clause(field)
            _add_clause(clauses, conj, required, prohibited, node)
        # QueryParser: one clause without a modifier is that clause, not a boolean.
        if len(clauses) == 1 and first is not None:
            return first
        return Bool(tuple(clauses))

    def modifiers(self) -> tuple[bool, bool]:
        kind = self.peek().kind
        if kind in (PLUS, MINUS, NOT):
            self.take()
            return kind == PLUS, kind != PLUS
        return False, False

    def multiterm_ahead(self) -> bool:
        # LOOKAHEAD(2) MultiTerm: TERM TERM, the second not followed by ':' '*' AND OR.
        return (self.peek().kind == TERM and self.peek(1).kind == TERM
                and self.peek(2).kind not in _ENDS_MULTITERM)

    def multiterm(self, field: str | None, clauses: list[tuple[Occur, Node]]) -> None:
        """Bare terms in a row (`a b c`). Lucene analyzes their text as one string; with
        whitespace-free terms that is one SHOULD clause per term, as written here. (The
        field is never _exists_: that is refused on a group.)"""
        first = True
        while first or (self.peek().kind == TERM
                        and self.peek(1).kind not in _ENDS_MULTITERM):
            first = False
            token = self.take()
            self.count(token)
            _add_clause(clauses, None, False, False, Term(field, self.term_text(token)))

    def count(self, token: _Token) -> None:
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            raise _refuse(token.start, f"a query may hold at most {MAX_LEAVES} search terms")

    # Clause ::= [ TERM ':' | '*' ':' ] ( Term | '(' Query ')' )
    def clause(self, field: str | None) -> Node:
        token = self.peek()
        if token.kind in (TERM, STAR) and self.peek(1).kind == COLON:
            field = self.field_name(token)
            self.i += 2
            token = self.peek()
        if token.kind == LPAREN:
            if field == EXISTS_FIELD:
                raise _refuse(token.start, "_exists_ needs a field name, not a group")
            if self.depth >= MAX_DEPTH:
                raise _refuse(token.start, f"groups may nest at most {MAX_DEPTH} deep")
            self.take()
            if self.peek().kind == RPAREN:
                raise _refuse(self.peek().start, "empty groups '()' are not allowed")
            self.depth += 1
            node = self.query(field)
            self.depth -= 1
            closing = self.peek()
            if closing.kind == EOF:
                raise _refuse(token.start, "a '(' is never closed")
            if closing.kind != RPAREN:
                raise self.unexpected(closing)
            self.take()
            return node
        return self.term(field)

    def field_name(self, token: _Token) -> str:
        name = token.image
        if "\\" in name:
            raise _refuse(token.start, "escaped characters in a field name are not allowed")
        if name == EXISTS_FIELD:
            return name
        if not _FIELD_RE.match(name) or not self.allowed(name):
            raise _refuse(token.start, f"searching the field {name!r} is not allowed")
        return name

    def term_text(self, token: _Token) -> str:
        text = _unescape(token.image, token.start)
        _check_text(text, token.start, "a search term")
        return text

    # Term ::= TERM | '*' | PREFIXTERM | WILDTERM | range | QUOTED   (no ~, ^, /regex/)
    def term(self, field: str | None) -> Leaf:
        token = self.peek()
        if field == EXISTS_FIELD and token.kind != TERM:
            raise _refuse(token.start, "_exists_ needs a field name")
        if token.kind not in _CLAUSE_START or token.kind == LPAREN:
            raise self.unexpected(token)
        if token.kind == BAREOPER:
            raise _refuse(token.start, f"a '{token.image[0]}' must be written right before "
                                       "the term it applies to")
        self.take()
        self.count(token)
        node: Leaf
        if token.kind == TERM:
            if field == EXISTS_FIELD:
                node = self.exists(token)
            else:
                node = Term(field, self.term_text(token))
        elif token.kind == STAR:
            node = Wildcard(field, "*")
        elif token.kind == PREFIXTERM:
            text = _unescape(token.image[:-1], token.start)
            _check_text(text, token.start, "a wildcard")
            node = Prefix(field, text)
        elif token.kind == WILDTERM:
            node = Wildcard(field, self.pattern(token))
        elif token.kind == QUOTED:
            node = self.phrase(field, token)
        else:
            node = self.range(field, token)
        after = self.peek()
        if after.kind == COLON:
            raise _refuse(token.start, f"searching the field {token.image!r} is not allowed")
        text = node.pattern if isinstance(node, Wildcard) else getattr(node, "text", "")
        if isinstance(node, (Term, Prefix, Wildcard)) and text[:1] in ("<", ">"):
            # Elasticsearch reads field:>10 (after unescaping) as an open range; Lucene and
            # the gateway read a term. Write ranges as [low TO high].
            raise _refuse(token.start, "comparisons (field:>x, field:<x) are not allowed; "
                                       "write a range such as [10 TO *]")
        if field is None and isinstance(node, (Prefix, Wildcard, Range)) \
                and node != Wildcard(None, "*"):
            # Without a field, Auth0 picks the fields searched (the gateway cannot check them
            # against the allow-list): a pattern there could probe a hidden one.
            raise _refuse(token.start, "wildcards and ranges need a field name "
                                       "(e.g. name:jo*)")
        return node

    def exists(self, token: _Token) -> Exists:
        name = token.image
        if "\\" in name:
            raise _refuse(token.start, "escaped characters in a field name are not allowed")
        if not _FIELD_RE.match(name) or not self.allowed(name):
            raise _refuse(token.start, f"searching the field {name!r} is not allowed")
        return Exists(name)

    def pattern(self, token: _Token) -> str:
        out: list[str] = []
        image = token.image
        i = 0
        while i < len(image):
            if image[i] == "\\":
                literal = _unescape(image[i:i + 2], token.start + i)
                _check_text(literal, token.start + i, "a wildcard")
                out.append(literal)
                i += 2
            else:
                out.append(image[i])
                i += 1
        return "".join(out)

    def phrase(self, field: str | None, token: _Token) -> Phrase:
        text = _unescape(token.image[1:-1], token.start + 1)
        if "\t" in text:
            raise _refuse(token.start, "only spaces may separate the words of a phrase")
        if not text.strip(" "):
            # Lucene drops a phrase without words from its boolean altogether.
            raise _refuse(token.start, "a quoted phrase must hold a word")
        return Phrase(field, text)

    def range(self, field: str | None, start: _Token) -> Range:
        low = self.bound(start)
        if self.peek().kind != RANGE_TO:
            raise _refuse(start.start, "a range is written [low TO high]")
        self.take()
        high = self.bound(start)
        end = self.peek()
        if end.kind != RANGE_END:
            raise _refuse(start.start, "a range is written [low TO high]")
        self.take()
        return Range(field, low, high, start.image == "[", end.image == "]")

    def bound(self, start: _Token) -> str | None:
        token = self.peek()
        if token.kind not in (RANGE_GOOP, RANGE_TO):
            raise _refuse(start.start, "a range is written [low TO high]")
        self.take()
        if token.image == "*":
            return None
        if token.kind == RANGE_GOOP and _RANGE_VALUE_RE.match(token.image):
            return token.image
        raise _refuse(token.start, "a range may hold only plain values: [low TO high]")


def _add_clause(clauses: list[tuple[Occur, Node]], conj: str | None, required: bool,
                prohibited: bool, node: Node) -> None:
    """QueryParserBase.addClause with the default operator OR: AND makes the clause before
    it required too (unless prohibited); OR changes nothing; NOT / - prohibit; + requires."""
    if clauses and conj == AND:
        occur, previous = clauses[-1]
        if occur != Occur.MUST_NOT:
            clauses[-1] = (Occur.MUST, previous)
    if prohibited:
        clauses.append((Occur.MUST_NOT, node))
    elif required or conj == AND:
        clauses.append((Occur.MUST, node))
    else:
        clauses.append((Occur.SHOULD, node))


# -- serialization ------------------------------------------------------------------------

# QueryParserBase.escape's characters, and whitespace.
_SPECIAL = frozenset('\\+-!():^[]"{}~*?|&/')
_KEYWORDS = frozenset({"AND", "OR", "NOT"})


def _escape(text: str) -> str:
    escaped = "".join("\\" + c if c in _SPECIAL or c.isspace() else c for c in text)
    return "\\" + escaped if text in _KEYWORDS else escaped


def wildcard_text(pattern: str) -> str:
    """A wildcard pattern as written: literal characters escaped, `*` and `?` bare."""
    return "".join(c if c in _WILD else _escape(c) for c in pattern)


def _field(field: str | None) -> str:
    return "" if field is None else field + ":"


def _clauses(clauses: Iterable[tuple[Occur, Node]]) -> str:
    """`+a -b OR c`: + for MUST, - for MUST_NOT, OR before every SHOULD but a first one
    (OR changes nothing under the default operator OR, and it keeps two bare terms from
    being read as one MultiTerm text that an analyzer may treat as a whole). A reader set
    to default operator AND reads `+x +y` alike, so the scope clauses stay required; only
    groups mixing SHOULD with MUST read differently there (no spelling can avoid that)."""
    parts: list[str] = []
    for occur, node in clauses:
        text = serialize(node)
        if occur == Occur.MUST:
            parts.append("+" + text)
        elif occur == Occur.MUST_NOT:
            parts.append("-" + text)
        else:
            parts.append(("OR " if parts else "") + text)
    return " ".join(parts)


def serialize(node: Node) -> str:
    """The canonical text of a tree: reading it with Lucene's classic QueryParser (default
    operator OR) gives the same tree back."""
    if isinstance(node, Bool):
        return "(" + _clauses(node.clauses) + ")"
    if isinstance(node, Term):
        return _field(node.field) + _escape(node.text)
    if isinstance(node, Phrase):
        return _field(node.field) + phrase(node.text)
    if isinstance(node, Prefix):
        return _field(node.field) + _escape(node.text) + "*"
    if isinstance(node, Wildcard):
        return _field(node.field) + wildcard_text(node.pattern)
    if isinstance(node, Range):
        low = "*" if node.low is None else node.low
        high = "*" if node.high is None else node.high
        return (_field(node.field) + ("[" if node.include_low else "{") + f"{low} TO {high}"
                + ("]" if node.include_high else "}"))
    return f"{EXISTS_FIELD}:{node.field}"


# -- public entry points ------------------------------------------------------------------


def parse(q: str, allowed: Callable[[str], bool] = searchable) -> Node:
    """Lucene's reading of `q` as a tree; QueryRefused outside the safe subset."""
    _check_chars(q)
    if not q.strip(" \t"):
        raise QueryRefused(1, "the query is empty")
    return _Parser(q, allowed).top()


def canonical(q: str, allowed: Callable[[str], bool] = searchable) -> str:
    return serialize(parse(q, allowed))


def check_query(q: str, allowed: Callable[[str], bool] = searchable) -> None:
    """Raise QueryRefused unless `q` is inside the subset the gateway reads."""
    parse(q, allowed)


def _scope_clause(field: str, value: str) -> str:
    """A delegated-scope clause; refuses values an analyzer could reduce to nothing
    (Lucene drops a clause without terms from its boolean instead of matching nothing)."""
    if not _FIELD_RE.match(field):
        raise ValueError(f"scope field {field!r} is not a plain field name")
    if not any(char.isalnum() for char in value) or any(
            unicodedata.category(char).startswith("C") for char in value):
        raise ValueError(f"the scope value for {field} must hold a letter or digit and no "
                         "control characters")
    return "+" + serialize(Phrase(field, value))


def restrict(q: str | None, clauses: Iterable[tuple[str, str]]) -> str:
    """`+(<canonical q>) +field:"value" ...`: every scope clause a required top-level
    clause. Parses `q` itself (QueryRefused); without q, just the clauses."""
    parts: list[str] = []
    if q is not None and q.strip(" \t"):
        node = parse(q)
        text = serialize(node)
        parts.append("+" + (text if isinstance(node, Bool) else f"({text})"))
    parts.extend(_scope_clause(field, value) for field, value in clauses)
    return " ".join(parts)
