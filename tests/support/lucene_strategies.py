"""Hypothesis strategies for Lucene query strings as a caller might write them (ordinary
and hostile), and the gateway's tree in the Lucene oracle's normalized JSON form."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from app.guards.lucene import (
    Bool,
    Exists,
    Leaf,
    Node,
    Phrase,
    Prefix,
    Range,
    Term,
    Wildcard,
    searchable,
    wildcard_text,
)

DEFAULT_FIELD = "_default_"  # the oracle's default field (tests/support/lucene_oracle.py)
SCOPE = [("app_metadata.department", "support")]

# -- the gateway's tree in the oracle's form ---------------------------------------------


def to_oracle_form(node: Node) -> dict[str, Any]:
    """What Lucene 8.7 (WhitespaceAnalyzer, default field _default_) builds for `node`."""
    if isinstance(node, Bool):
        return {"bool": [[occur.value, to_oracle_form(child)] for occur, child in node.clauses]}
    if isinstance(node, Exists):
        return {"term": ["_exists_", node.field]}
    field = DEFAULT_FIELD if node.field is None else node.field
    if isinstance(node, Term):
        return {"term": [field, node.text]}
    if isinstance(node, Phrase):
        # The analyzer splits the phrase into words; one word is a plain term query.
        words = node.text.split()
        return {"term": [field, words[0]]} if len(words) == 1 else {"phrase": [field, words, 0]}
    if isinstance(node, Prefix):
        return {"prefix": [field, node.text]}
    if isinstance(node, Wildcard):
        # Lucene keeps a wildcard's escapes in its term text: the canonical escaping here.
        return {"wildcard": [field, wildcard_text(node.pattern)]}
    assert isinstance(node, Range)
    return {"range": [field, node.low, node.high, node.include_low, node.include_high]}


def normalize_wildcards(tree: dict[str, Any]) -> dict[str, Any]:
    """An oracle tree with each wildcard's text escaped canonically. Lucene builds a
    WildcardQuery from the raw token (`a\\x*` keeps its backslash) where the gateway keeps
    the pattern it means (`ax*`): equal patterns, different spellings."""
    if "bool" in tree:
        return {"bool": [[occur, normalize_wildcards(child)] for occur, child in tree["bool"]]}
    if "wildcard" in tree:
        field, text = tree["wildcard"]
        pattern: list[str] = []
        i = 0
        while i < len(text):
            if text[i] == "\\":
                pattern.append(text[i + 1])
                i += 2
            else:
                pattern.append(text[i])
                i += 1
        return {"wildcard": [field, wildcard_text("".join(pattern))]}
    return tree


def oracle_leaves(tree: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    if "bool" in tree:
        return [leaf for _, child in tree["bool"] for leaf in oracle_leaves(child)]
    ((kind, value),) = tree.items()
    return [(kind, value)]


def hidden_fields_in(tree: dict[str, Any]) -> list[str]:
    """Fields Lucene would search that are not searchable (an `_exists_` term's text is
    the field Elasticsearch checks)."""
    found = []
    for kind, value in oracle_leaves(tree):
        if kind not in ("term", "phrase", "prefix", "wildcard", "range"):
            found.append(f"{kind}: {value}")  # boost, fuzzy, regexp, all, other: never sent
            continue
        field = value[0]
        if field == "_exists_":
            if not searchable(value[1]):
                found.append(f"_exists_:{value[1]}")
        elif field != DEFAULT_FIELD and not searchable(field):
            found.append(field)
    return found


def leaves(node: Node) -> list[Leaf]:
    if isinstance(node, Bool):
        return [leaf for _, child in node.clauses for leaf in leaves(child)]
    return [node]


# -- strategies ---------------------------------------------------------------------------

SEARCHABLE = ["email", "name", "user_id", "logins_count", "created_at", "identities.connection",
              "app_metadata.department", "app_metadata.org_id", "user_metadata.city"]
HIDDEN = ["identities.access_token", "identities.refresh_token", "identities", "_default_",
          "secret", "identities\\.access_token", "identities.\\*", "identities.*", "*",
          "app_metadata.*", "identities\u2024access_token", "\uff45mail", "AND", "TO",
          "identities\\u002eaccess_token", "_exists_"]
SPECIALS = list('\\+-!():^[]"{}~*?|&/')
ODD_SPACES = ["\u3000", "\u00a0", "\u2003", "\u2028", "\u200b", "\u202e", "\ufeff", "\n", "\r",
              "\x00", "\x1f", "\x85"]
CLEAN = string.ascii_letters + string.digits + "@._é张'"

clean_words = st.text(alphabet=CLEAN, min_size=1, max_size=6)
fields = st.sampled_from(SEARCHABLE + HIDDEN)


@st.composite
def words(draw: st.DrawFn) -> str:
    """A bare word: mostly plain, sometimes with specials, escapes, quotes or brackets
    inside, wildcards, keywords or odd spaces."""
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        return draw(clean_words)
    if kind == 4:
        return draw(st.sampled_from(["AND", "OR", "NOT", "&&", "||", "TO", "and", "ANDY"]))
    pieces = draw(st.lists(st.one_of(
        clean_words,
        st.sampled_from(SPECIALS),
        st.sampled_from(["*", "?", "\\*", "\\ ", "\\u0041", "\\u00", "\\\\"]),
        st.sampled_from(SPECIALS + ["a", "u", " ", "\t"]).map(lambda c: "\\" + c),
        st.sampled_from(ODD_SPACES),
    ), min_size=1, max_size=4))
    return "".join(pieces)


@st.composite
def leaves_text(draw: st.DrawFn) -> str:
    field = draw(st.one_of(st.none(), fields, st.just("_exists_")))
    prefix = "" if field is None else field + draw(st.sampled_from([":", ":", " : ", ":"]))
    kind = draw(st.integers(0, 9))
    if kind <= 4:
        body = draw(words())
    elif kind == 5:
        body = draw(st.sampled_from(["*", "a*", "*a", "a*b", "a?", "?", "**", "a\\(*", "a\\**"]))
    elif kind == 6:
        content = draw(st.text(alphabet=CLEAN + ' ()\\"*:\t', max_size=10))
        closing = draw(st.sampled_from(['"', '"', '"', "", '"~2', '"^3']))
        body = '"' + content + closing
    elif kind == 7:
        value = st.one_of(st.sampled_from(["*", "10", "2020-01-01", "TO", "a b", '"x"', "a)"]),
                          clean_words)
        body = (draw(st.sampled_from(["[", "{"])) + draw(value)
                + draw(st.sampled_from([" TO ", " to ", "  TO  ", " ", "\tTO "]))
                + draw(value) + draw(st.sampled_from(["]", "}", ""])))
    elif kind == 8:
        body = draw(st.sampled_from(SEARCHABLE + HIDDEN))
        prefix = "_exists_:"
    else:
        body = draw(words()) + draw(st.sampled_from(["~", "~2", "^2", "/", "/x/", ":y"]))
    return prefix + body


def _join(draw: st.DrawFn, parts: list[str]) -> str:
    out = ""
    for index, part in enumerate(parts):
        modifier = draw(st.sampled_from(["", "", "", "+", "-", "!", "NOT ", "+ "]))
        if index:
            out += draw(st.sampled_from([" ", " ", " AND ", " OR ", " && ", " || ", "  ", "\t",
                                         " AND NOT ", "", " OR OR "]))
        out += modifier + part
    return out


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    @st.composite
    def compose(draw: st.DrawFn) -> str:
        parts = draw(st.lists(children, min_size=1, max_size=4))
        inner = _join(draw, parts)
        if draw(st.booleans()):
            field = draw(st.one_of(st.none(), fields))
            opening = draw(st.sampled_from(["(", "(", "(", "( "]))
            closing = draw(st.sampled_from([")", ")", ")", " )", "", "))"]))
            return ("" if field is None else field + ":") + opening + inner + closing
        return inner
    return compose()


queries: st.SearchStrategy[str] = st.recursive(leaves_text(), _extend, max_leaves=10)

# Purely random text over the characters and fragments Lucene's grammar cares about.
FRAGMENTS = (list("ab \t:()[]{}\"\\*?~^/+-!&|") + ["AND", "OR", "NOT", "TO", "email", "x",
             "identities.access_token", "_exists_", "app_metadata.department", "\u3000",
             "\u00a0", "\\u", "0041", "."])
random_queries = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=24).map("".join)


# Well-formed queries inside the safe subset, in every spelling the grammar allows, so that
# the oracle judges deep and wide trees too (the generators above are mostly refused).
_ESCAPABLE = list('+-!():^[]"{}~|&/') + ["a", "é"]


@st.composite
def safe_words(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.one_of(
        clean_words,
        st.sampled_from(_ESCAPABLE).map(lambda c: "\\" + c),
        st.sampled_from(["&&", "||", "&", "|", "-", "+", "'"]),
    ), min_size=1, max_size=4))
    word = "".join(pieces)
    if word[0] in "+-":  # inside a word only; at its start they are operators
        word = "x" + word
    return word


@st.composite
def safe_leaves(draw: st.DrawFn) -> str:
    field = draw(st.one_of(st.none(), st.sampled_from(SEARCHABLE)))
    prefix = "" if field is None else field + draw(st.sampled_from([":", ":", " : "]))
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        body = draw(safe_words())
        if body in ("AND", "OR", "NOT", "&&", "||"):
            body = "\\" + body
    elif kind <= 5:
        parts = draw(st.lists(st.one_of(safe_words(), st.sampled_from(["*", "?"])),
                              min_size=1, max_size=4))
        body = "".join(parts)
        if "*" not in body and "?" not in body:
            body += "*"
    elif kind <= 7:
        words_ = draw(st.lists(st.text(alphabet=CLEAN + "()[]{}:*?~^/!+-&|'", min_size=1,
                                       max_size=5), min_size=1, max_size=3))
        spaced = draw(st.sampled_from([" ", "  "])).join(words_)
        body = '"' + spaced.replace("\\", "\\\\").replace('"', '\\"') + '"'
    elif kind == 8:
        value = st.one_of(st.just("*"), st.sampled_from(["10", "2020-01-01", "2024-01-01T00:00:00Z",
                                                         "a@b.c", "x-1", "+5"]), clean_words)
        body = (draw(st.sampled_from(["[", "{"])) + draw(value) + " TO " + draw(value)
                + draw(st.sampled_from(["]", "}"])))
    else:
        return "_exists_:" + draw(st.sampled_from(SEARCHABLE))
    return prefix + body


def _safe_join(draw: st.DrawFn, parts: list[str]) -> str:
    out = ""
    for index, part in enumerate(parts):
        separator = ""
        if index:
            separator = draw(st.sampled_from([" ", " ", " AND ", " OR ", " && ", " || ", "\t",
                                              " AND NOT ", " OR NOT ", " NOT ", " !", "  "]))
        modifier = "" if separator.endswith(("NOT ", "!")) else draw(
            st.sampled_from(["", "", "+", "-", "!", "NOT "]))
        out += separator + modifier + part
    return out


def _safe_extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    @st.composite
    def compose(draw: st.DrawFn) -> str:
        inner = _safe_join(draw, draw(st.lists(children, min_size=1, max_size=5)))
        if draw(st.integers(0, 3)) == 0:
            return inner
        field = draw(st.one_of(st.none(), st.none(), st.sampled_from(SEARCHABLE)))
        spaced = draw(st.booleans())
        return (("" if field is None else field + ":") + ("( " if spaced else "(") + inner
                + (" )" if spaced else ")"))
    return compose()


safe_queries: st.SearchStrategy[str] = st.recursive(safe_leaves(), _safe_extend, max_leaves=24)
