"""Auth0's user search ``q``, read the way Apache Lucene's classic QueryParser reads it.

``parse`` ports Lucene's ``QueryParser.jj`` and ``QueryParserBase`` with
Elasticsearch's settings and either reads a query exactly as Lucene does or
raises :class:`LuceneError` (a 400 ``invalid_query_string``); ``matches`` is the
emulator's model of Auth0's matching; ``to_oracle_form`` feeds the conformance
tests against Lucene itself.

Design: docs/emulator.md, "User search (`GET /users`)".
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
# How Lucene names the field of a field-less term (the oracle's default field).
LUCENE_DEFAULT_FIELD = "_default_"
EXISTS_FIELD = "_exists_"

# QueryParser.jj's _WHITESPACE: what separates tokens.
QP_WHITESPACE = frozenset(" \t\n\r\u3000")
# java.lang.Character.isWhitespace: where Lucene's WhitespaceTokenizer splits a term's text.
# Unicode space/line/paragraph separators except the no-break ones (U+00A0, U+2007,
# U+202F), plus U+0009-U+000D and U+001C-U+001F.
JAVA_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2008\u2009\u200a\u2028\u2029\u205f\u3000")
_NOT_TERM_START = QP_WHITESPACE | frozenset('+-!():^[]"{}~*?\\/')
_NOT_TERM_CHAR = _NOT_TERM_START - frozenset("+-")
_NOT_GOOP = frozenset(" ]}")
_HEX = frozenset("0123456789abcdefABCDEF")
MAX_TOKEN_LENGTH = 255  # WhitespaceTokenizer cuts longer tokens in pieces
MAX_CLAUSES = 1024  # BooleanQuery.getMaxClauseCount()
MAX_DEPTH = 64  # nesting of parentheses the emulator reads

MUST, SHOULD, MUST_NOT = "MUST", "SHOULD", "MUST_NOT"
_CONJ_NONE, _CONJ_AND, _CONJ_OR = 0, 1, 2
_MOD_NONE, _MOD_NOT, _MOD_REQ = 0, 10, 11


class LuceneError(ValueError):
    """A query Lucene cannot read, or the emulator refuses; a 400 invalid_query_string."""


# -- the reading ------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A leaf. ``field`` None means the default fields (Lucene's ``_default_``).

    kind: "exact" (a term), "phrase" (two or more words in quotes), "prefix" (``ab*``),
    "wildcard" (``a?b*c``: ``value`` is Lucene's raw text, escapes kept), "exists"
    (``field:*`` when ``star``, else ``_exists_:field``) or "range".
    """

    field: str | None
    kind: str
    value: str = ""
    words: tuple[str, ...] = ()
    pattern: str = ""  # regex for prefix and wildcard
    low: str | None = None
    high: str | None = None
    include_low: bool = True
    include_high: bool = True
    star: bool = False


@dataclass(frozen=True)
class MatchAll:
    """``*:*``."""


@dataclass(frozen=True)
class Bool:
    """A BooleanQuery: (occur, node) clauses, occur one of MUST, SHOULD, MUST_NOT."""

    clauses: tuple[tuple[str, Node], ...]


Node = Term | MatchAll | Bool


# -- tokens -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str
    image: str
    pos: int


def _unit(s: str, i: int, excluded: frozenset[str]) -> int:
    """Length of one term character at ``i`` (an escape pair counts as one), or 0."""
    if i >= len(s):
        return 0
    if s[i] == "\\":
        return 2 if i + 1 < len(s) else 0
    return 0 if s[i] in excluded else 1


def _run(s: str, i: int, first: frozenset[str], rest: frozenset[str], wild: bool) -> int:
    """Length of ``first rest*`` at ``i``; with ``wild``, ``*`` and ``?`` may be anywhere."""
    start = i
    step = _unit(s, i, first)
    if step == 0 and wild and i < len(s) and s[i] in "*?":
        step = 1
    if step == 0:
        return 0
    i += step
    while True:
        step = _unit(s, i, rest)
        if step == 0 and wild and i < len(s) and s[i] in "*?":
            step = 1
        if step == 0:
            return i - start
        i += step


def _quoted_length(s: str, i: int) -> int:
    """QUOTED: ``"`` (non-``"``-non-``\\`` char | ``\\`` any)* ``"``; 0 when unterminated."""
    j = i + 1
    while j < len(s):
        if s[j] == "\\":
            j += 2
            continue
        if s[j] == '"':
            return j + 1 - i
        j += 1
    return 0


def _range_quoted_length(s: str, i: int) -> int:
    """RANGE_QUOTED, longest match: ``"`` (non-``"`` char | ``\\"``)+ ``"``; 0 if none."""
    best = 0
    for j in range(i + 1, len(s)):
        if s[j] != '"':
            continue
        if j >= i + 2:
            best = j + 1 - i
        if not (s[j - 1] == "\\" and j - 1 > i):
            break  # this quote cannot be inside the token: the longest match ends here
    return best


def _goop_length(s: str, i: int) -> int:
    j = i
    while j < len(s) and s[j] not in _NOT_GOOP:
        j += 1
    return j - i


_REFUSED_START = {
    "^": "boosts (^) are not supported",
    "~": "fuzzy terms and phrase slop (~) are not supported",
    "/": "regular expressions (/.../) are not supported",
}


def _tokens(s: str) -> list[_Token]:
    """The token manager of QueryParser.jj, DEFAULT and Range states.

    CARAT (boosts), FUZZY_SLOP and REGEXPTERM are refused outright: any query holding
    one is either a boost, fuzzy, slop or regexp query, or a syntax error.
    """
    out: list[_Token] = []
    i, n = 0, len(s)
    in_range = False
    while i < n:
        c = s[i]
        if in_range:
            if c == " ":
                i += 1
                continue
            if c in "]}":
                out.append(_Token("RANGEIN_END" if c == "]" else "RANGEEX_END", c, i))
                in_range = False
                i += 1
                continue
            goop = _goop_length(s, i)
            kind, length = "RANGE_GOOP", goop
            if c in QP_WHITESPACE:
                if goop == 1:  # a tie with SKIP, which is declared first
                    i += 1
                    continue
            elif s.startswith("TO", i) and goop == 2:
                kind = "RANGE_TO"
            elif c == '"':
                quoted = _range_quoted_length(s, i)
                if quoted and quoted >= goop:
                    kind, length = "RANGE_QUOTED", quoted
            out.append(_Token(kind, s[i:i + length], i))
            i += length
            continue
        if c in QP_WHITESPACE:
            i += 1
            continue
        if c in _REFUSED_START:
            raise LuceneError(f"{_REFUSED_START[c]} (position {i})")
        if c in "+-!":
            if i + 1 < n and s[i + 1] in QP_WHITESPACE:
                out.append(_Token("BAREOPER", s[i:i + 2], i))
                i += 2
            else:
                out.append(_Token({"+": "PLUS", "-": "MINUS", "!": "NOT"}[c], c, i))
                i += 1
            continue
        if c in "():":
            out.append(_Token({"(": "LPAREN", ")": "RPAREN", ":": "COLON"}[c], c, i))
            i += 1
            continue
        if c in "[{":
            out.append(_Token("RANGEIN_START" if c == "[" else "RANGEEX_START", c, i))
            in_range = True
            i += 1
            continue
        if c == '"':
            length = _quoted_length(s, i)
            if not length:
                raise LuceneError(f"Unterminated quoted phrase at position {i}")
            out.append(_Token("QUOTED", s[i:i + length], i))
            i += length
            continue
        term = _run(s, i, _NOT_TERM_START, _NOT_TERM_CHAR, wild=False)
        wild = _run(s, i, _NOT_TERM_START, _NOT_TERM_CHAR, wild=True)
        if c == "*":
            kind, length = ("STAR", 1) if wild == 1 else ("WILDTERM", wild)
        elif c == "?":
            kind, length = "WILDTERM", wild
        elif term == 0:  # "]", "}" or a backslash at the very end
            raise LuceneError(f"Unexpected '{c}' at position {i}")
        else:
            prefix = term + 1 if s.startswith("*", i + term) else 0
            length = max(term, prefix, wild)
            keyword = next((k for k in ("AND", "&&", "OR", "||", "NOT")
                            if s.startswith(k, i)), None)
            if keyword is not None and len(keyword) == length:
                kind = {"AND": "AND", "&&": "AND", "OR": "OR", "||": "OR"}.get(keyword, "NOT")
            elif term == length:
                kind = "TERM"
            elif prefix == length:
                kind = "PREFIXTERM"
            else:
                kind = "WILDTERM"
        out.append(_Token(kind, s[i:i + length], i))
        i += length
    out.append(_Token("EOF", "", n))
    return out


# -- text -------------------------------------------------------------------------


def _unescape(text: str) -> str:
    """QueryParserBase.discardEscapeChar: drop escapes, read ``\\uXXXX`` (UTF-16 units)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        if i + 1 >= len(text):
            raise LuceneError("Term can not end with escape character.")
        if text[i + 1] != "u":
            out.append(text[i + 1])
            i += 2
            continue
        digits = text[i + 2:i + 6]
        if len(digits) < 4 or not all(d in _HEX for d in digits):
            raise LuceneError("Bad unicode escape sequence.")
        out.append(chr(int(digits, 16)))
        i += 6
    joined = "".join(out)
    try:  # surrogate pairs written as two escapes make one character, as in Java
        return joined.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        raise LuceneError("Unpaired surrogate in a term.") from None


def _split(text: str) -> list[str]:
    """Split at java.lang.Character.isWhitespace (Python's str.split uses other spaces)."""
    words: list[str] = []
    current: list[str] = []
    for char in text:
        if char in JAVA_WHITESPACE:
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


def _words(text: str) -> list[str]:
    """The words Lucene's WhitespaceTokenizer makes of a term's text."""
    words = _split(text)
    for word in words:
        if len(word.encode("utf-16-le")) // 2 >= MAX_TOKEN_LENGTH:
            raise LuceneError(f"A term is longer than {MAX_TOKEN_LENGTH - 1} characters.")
    return words


def _wildcard_regex(raw: str) -> str:
    """Lucene WildcardQuery: ``*`` any run, ``?`` one character, ``\\`` escapes."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "\\" and i + 1 < len(raw):
            out.append(re.escape(raw[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        i += 1
    return "".join(out)


# -- grammar ----------------------------------------------------------------------

# Tokens that can start ( Conjunction() Modifiers() Clause() ) in Query's loop.
_CLAUSE_START = frozenset({
    "AND", "OR", "NOT", "PLUS", "MINUS", "BAREOPER", "LPAREN", "STAR", "QUOTED", "TERM",
    "PREFIXTERM", "WILDTERM", "RANGEIN_START", "RANGEEX_START"})


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0

    def _peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def _take(self) -> _Token:
        token = self._peek()
        self.i += 1
        return token

    def _fail(self, token: _Token) -> LuceneError:
        if token.kind == "EOF":
            return LuceneError("Unexpected end of query")
        return LuceneError(f"Unexpected '{token.image}' at position {token.pos}")

    def top(self) -> Node:
        node = self._query(None)
        if self._peek().kind != "EOF":
            raise self._fail(self._peek())
        return node

    def _query(self, field: str | None) -> Node:
        """Query: Modifiers Clause ( Conjunction Modifiers Clause )*.

        MultiTerm (runs of bare terms) needs no rule of its own here: every bare term
        the emulator accepts is one word, and then MultiTerm builds exactly the
        clauses the plain rule builds.
        """
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LuceneError(f"Parentheses nested deeper than {MAX_DEPTH}")
        clauses: list[list[Any]] = []
        mods = self._modifiers()
        first = self._clause(field)
        self._add(clauses, _CONJ_NONE, mods, first)
        first_query = first if mods == _MOD_NONE else None
        while self._peek().kind in _CLAUSE_START:
            conj = self._conjunction()
            mods = self._modifiers()
            self._add(clauses, conj, mods, self._clause(field))
        self.depth -= 1
        if len(clauses) == 1 and first_query is not None:
            return first_query
        if len(clauses) > MAX_CLAUSES:
            raise LuceneError("too many boolean clauses")
        return Bool(tuple((occur, node) for occur, node in clauses))

    def _conjunction(self) -> int:
        kind = self._peek().kind
        if kind in ("AND", "OR"):
            self.i += 1
            return _CONJ_AND if kind == "AND" else _CONJ_OR
        return _CONJ_NONE

    def _modifiers(self) -> int:
        kind = self._peek().kind
        if kind in ("PLUS", "MINUS", "NOT"):
            self.i += 1
            return _MOD_REQ if kind == "PLUS" else _MOD_NOT
        return _MOD_NONE

    @staticmethod
    def _add(clauses: list[list[Any]], conj: int, mods: int, node: Node) -> None:
        """QueryParserBase.addClause with the OR default operator."""
        if clauses and conj == _CONJ_AND and clauses[-1][0] != MUST_NOT:
            clauses[-1][0] = MUST  # "a AND b": AND makes the preceding clause required
        prohibited = mods == _MOD_NOT
        required = mods == _MOD_REQ or (conj == _CONJ_AND and not prohibited)
        clauses.append([MUST_NOT if prohibited else MUST if required else SHOULD, node])

    def _clause(self, field: str | None) -> Node:
        token, after = self._peek(), self._peek(1)
        if after.kind == "COLON" and token.kind in ("TERM", "STAR"):
            field = "*" if token.kind == "STAR" else _unescape(token.image)
            self.i += 2
        if self._peek().kind == "LPAREN":
            self.i += 1
            node = self._query(field)
            if self._peek().kind != "RPAREN":
                raise self._fail(self._peek())
            self.i += 1
            return node
        return self._term(field)

    def _term(self, field: str | None) -> Node:
        token = self._take()
        kind = token.kind
        if kind not in ("TERM", "STAR", "PREFIXTERM", "WILDTERM", "BAREOPER", "QUOTED",
                        "RANGEIN_START", "RANGEEX_START"):
            raise self._fail(token)
        if field is not None and ("*" in field or "?" in field):
            if field == "*" and kind == "STAR":
                return MatchAll()
            raise LuceneError(f"Wildcards in field names are not supported: {field!r}")
        if field == LUCENE_DEFAULT_FIELD:
            raise LuceneError(f"{LUCENE_DEFAULT_FIELD} is not a field name")
        if kind in ("RANGEIN_START", "RANGEEX_START"):
            return self._range(field, token)
        if kind == "STAR":
            if field == EXISTS_FIELD:
                raise LuceneError("_exists_ needs a field name")
            return Term(field=field, kind="exists", star=True)
        if kind == "QUOTED":
            words = _words(_unescape(token.image[1:-1]))
            if not words:
                raise LuceneError(f"Empty phrase at position {token.pos}")
            if len(words) == 1:
                return self._word(field, words[0])
            if field == EXISTS_FIELD:
                raise LuceneError("_exists_ takes one field name")
            return Term(field=field, kind="phrase", value=" ".join(words), words=tuple(words))
        text = token.image[0] if kind == "BAREOPER" else _unescape(token.image)
        if kind in ("PREFIXTERM", "WILDTERM"):
            if field == EXISTS_FIELD:
                raise LuceneError("_exists_ takes one field name, without wildcards")
            if kind == "PREFIXTERM":
                prefix = _unescape(token.image[:-1])
                return Term(field=field, kind="prefix", value=prefix,
                            pattern=re.escape(prefix) + ".*")
            return Term(field=field, kind="wildcard", value=token.image,
                        pattern=_wildcard_regex(token.image))
        words = _words(text)
        if words != [text]:
            # Lucene's analyzer would split this term, or drop it (escaped or
            # Unicode whitespace inside it): quote a phrase instead.
            raise LuceneError(f"Whitespace inside the term at position {token.pos}")
        return self._word(field, text)

    @staticmethod
    def _word(field: str | None, text: str) -> Term:
        if field == EXISTS_FIELD:
            return Term(field=text, kind="exists")
        return Term(field=field, kind="exact", value=text)

    def _range(self, field: str | None, start: _Token) -> Node:
        bounds: list[str | None] = []
        for position in range(2):
            token = self._take()
            if token.kind not in ("RANGE_GOOP", "RANGE_QUOTED", "RANGE_TO"):
                raise self._fail(token)
            if token.kind == "RANGE_QUOTED":
                bounds.append(_unescape(token.image[1:-1]))
            else:
                bounds.append(None if token.image == "*" else _unescape(token.image))
            if position == 0 and self._take().kind != "RANGE_TO":
                raise LuceneError(f"A range must read [low TO high] (position {start.pos})")
        end = self._take()
        if end.kind not in ("RANGEIN_END", "RANGEEX_END"):
            raise self._fail(end)
        if field == EXISTS_FIELD:
            raise LuceneError("_exists_ takes one field name, not a range")
        return Term(field=field, kind="range", low=bounds[0], high=bounds[1],
                    include_low=start.kind == "RANGEIN_START",
                    include_high=end.kind == "RANGEIN_END")


def parse(text: str) -> Node:
    """Read ``text`` as Lucene's classic QueryParser does, or raise LuceneError."""
    if not text.strip():
        raise LuceneError("Empty query")
    return _Parser(text).top()


# -- the reading in the oracle's form ---------------------------------------------


def to_oracle_form(node: Node) -> dict[str, Any]:
    """The reading as tests/lucene_oracle's normalized JSON tree of Lucene's Query."""
    if isinstance(node, Bool):
        return {"bool": [[occur, to_oracle_form(child)] for occur, child in node.clauses]}
    if isinstance(node, MatchAll):
        return {"all": True}
    field = node.field if node.field is not None else LUCENE_DEFAULT_FIELD
    if node.kind == "exists":
        if node.star:
            return {"wildcard": [field, "*"]}
        return {"term": [EXISTS_FIELD, node.field]}
    if node.kind == "phrase":
        return {"phrase": [field, list(node.words), 0]}
    if node.kind == "range":
        return {"range": [field, node.low, node.high, node.include_low, node.include_high]}
    if node.kind in ("prefix", "wildcard"):
        return {node.kind: [field, node.value]}
    return {"term": [field, node.value]}


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


def _same(left: str, right: str, sensitive: bool) -> bool:
    return left == right or (not sensitive and left.lower() == right.lower())


def _value_matches(term: Term, value: Any, sensitive: bool) -> bool:
    if term.kind == "range":
        return _in_range(value, term)
    text = _text(value)
    if term.kind in ("prefix", "wildcard"):
        flags = re.DOTALL if sensitive else re.DOTALL | re.IGNORECASE
        return re.fullmatch(term.pattern, text, flags) is not None
    if term.kind == "phrase":  # the whole value, word for word
        words = _split(text)
        return len(words) == len(term.words) and all(
            _same(w, t, sensitive) for w, t in zip(words, term.words, strict=True))
    return _same(text, term.value, sensitive)


def _term_matches(term: Term, document: dict[str, Any]) -> bool:
    fields = (term.field,) if term.field else DEFAULT_FIELDS
    for field in fields:
        if term.kind == "exists":
            if field_values(document, field):
                return True
            continue
        sensitive = _case_sensitive(field)
        for value in field_values(document, field):
            if not isinstance(value, (dict, list)) and _value_matches(term, value, sensitive):
                return True
    return False


def matches(node: Node, document: dict[str, Any]) -> bool:
    if isinstance(node, MatchAll):
        return True
    if isinstance(node, Term):
        return _term_matches(node, document)
    required = [child for occur, child in node.clauses if occur == MUST]
    optional = [child for occur, child in node.clauses if occur == SHOULD]
    if any(matches(child, document) for occur, child in node.clauses if occur == MUST_NOT):
        return False
    if not all(matches(child, document) for child in required):
        return False
    if required or not optional:
        # SHOULD clauses are optional beside a MUST; a purely negative query matches
        # everything it does not exclude (Elasticsearch adds a match-all to it).
        return True
    return any(matches(child, document) for child in optional)
