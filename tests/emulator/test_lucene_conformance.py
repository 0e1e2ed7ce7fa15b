"""The emulator reads ``q`` as Apache Lucene's classic QueryParser does, or refuses it.

The emulator stands in for Auth0, whose user search is Elasticsearch's query_string,
i.e. Lucene's classic QueryParser. Every query of ``lucene_corpus.json`` and every
random string below is given to Lucene 8.7 itself (tests/support/lucene_oracle.py)
and to ``emulator.management.lucene``: the emulator must either refuse it (a 400
invalid_query_string) or produce exactly Lucene's Query tree, both in the oracle's
normalized form. Refusing is allowed; a different reading never is.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.management import lucene
from tests.support.lucene_oracle import LuceneOracle, lucene_oracle_fixture  # noqa: F401

CORPUS = json.loads((Path(__file__).parent / "lucene_corpus.json").read_text("utf-8"))
GROUPS = {group["name"]: group["queries"] for group in CORPUS["groups"]}


def emulator_reading(q: str) -> dict[str, Any] | None:
    """The emulator's reading in the oracle's form, or None when it refuses the query."""
    try:
        node = lucene.parse(q)
    except lucene.LuceneError:
        return None
    return {"ok": True, "tree": lucene.to_oracle_form(node)}


def disagreement(oracle: LuceneOracle, q: str) -> str | None:
    ours = emulator_reading(q)
    if ours is None:
        return None
    theirs = oracle.parse(q)
    if ours == theirs:
        return None
    return f"{q!r}\n  Lucene:   {json.dumps(theirs)}\n  emulator: {json.dumps(ours)}"


@pytest.mark.parametrize("group", list(GROUPS))
def test_corpus_is_read_as_lucene_reads_it_or_refused(lucene_oracle: LuceneOracle,
                                                      group: str) -> None:
    problems = [p for q in GROUPS[group] if (p := disagreement(lucene_oracle, q)) is not None]
    assert not problems, "\n".join(problems)


def test_the_corpus_is_not_vacuous(lucene_oracle: LuceneOracle) -> None:
    """Refusing everything would pass the test above: most of what Lucene reads, we read."""
    queries = [q for qs in GROUPS.values() for q in qs]
    assert len(queries) >= 500
    lucene_reads = [q for q in queries if lucene_oracle.parse(q)["ok"]]
    we_read = [q for q in lucene_reads if emulator_reading(q) is not None]
    assert len(we_read) >= 0.7 * len(lucene_reads), len(we_read)
    for q in GROUPS["realistic searches"]:
        assert emulator_reading(q) is not None or "\\ " in q or q.startswith("email.domain"), q


def test_the_quote_inside_a_word_opens_a_phrase(lucene_oracle: LuceneOracle) -> None:
    q = 'email:* OR a"b) OR (c"'
    expected = {"ok": True, "tree": {"bool": [
        ["SHOULD", {"wildcard": ["email", "*"]}],
        ["SHOULD", {"term": ["_default_", "a"]}],
        ["SHOULD", {"phrase": ["_default_", ["b)", "OR", "(c"], 0]}],
    ]}}
    assert lucene_oracle.parse(q) == expected
    assert emulator_reading(q) == expected


@pytest.mark.parametrize("q", [
    "a[b OR identities.access_token:ya29* OR c]",
    "a{b OR identities.access_token:ya29* OR c}",
])
def test_a_bracket_inside_a_word_opens_a_range(lucene_oracle: LuceneOracle, q: str) -> None:
    # `a` then the range `[b OR ...`: "OR" where Lucene wants TO, a syntax error in Lucene.
    assert lucene_oracle.parse(q)["ok"] is False
    assert emulator_reading(q) is None


@pytest.mark.parametrize("q,tree", [
    ("a OR b AND c", {"bool": [["SHOULD", {"term": ["_default_", "a"]}],
                               ["MUST", {"term": ["_default_", "b"]}],
                               ["MUST", {"term": ["_default_", "c"]}]]}),
    ("a AND NOT b OR c", {"bool": [["MUST", {"term": ["_default_", "a"]}],
                                   ["MUST_NOT", {"term": ["_default_", "b"]}],
                                   ["SHOULD", {"term": ["_default_", "c"]}]]}),
    ("NOT a", {"bool": [["MUST_NOT", {"term": ["_default_", "a"]}]]}),
    ("(a)", {"term": ["_default_", "a"]}),
    ("a - b", {"bool": [["SHOULD", {"term": ["_default_", "a"]}],
                        ["SHOULD", {"term": ["_default_", "-"]}],
                        ["SHOULD", {"term": ["_default_", "b"]}]]}),
    ("_exists_:email", {"term": ["_exists_", "email"]}),
], ids=["and-binds-to-the-previous-clause", "not-then-or", "pure-negative", "one-clause",
        "bare-operator-is-a-term", "exists"])
def test_lucene_quirks_are_ported(lucene_oracle: LuceneOracle, q: str,
                                  tree: dict[str, Any]) -> None:
    assert lucene_oracle.parse(q) == {"ok": True, "tree": tree}
    assert emulator_reading(q) == {"ok": True, "tree": tree}


def test_java_whitespace_is_javas() -> None:
    """JAVA_WHITESPACE is java.lang.Character.isWhitespace over every code point."""
    java = {chr(c) for c in range(sys.maxunicode + 1)
            if (unicodedata.category(chr(c)) in ("Zs", "Zl", "Zp")
                and chr(c) not in "\u00a0\u2007\u202f")
            or 0x09 <= c <= 0x0d or 0x1c <= c <= 0x1f}
    assert java == lucene.JAVA_WHITESPACE


def test_whitespace_kinds_agree_with_lucene(lucene_oracle: LuceneOracle) -> None:
    candidates = {chr(c) for c in range(0x21)} | {"\x7f", "\x85", "\u180e", "\u200b", "\ufeff"}
    candidates |= {chr(c) for c in range(sys.maxunicode + 1)
                   if unicodedata.category(chr(c)) in ("Zs", "Zl", "Zp")}
    for char in sorted(candidates):
        tree = lucene_oracle.parse(f"a{char}b")["tree"]
        split = tree != {"term": ["_default_", f"a{char}b"]}
        assert split == (char in lucene.JAVA_WHITESPACE), repr(char)
        assert disagreement(lucene_oracle, f"a{char}b") is None
        assert disagreement(lucene_oracle, f'"a{char}b"') is None


# Fragments that matter to Lucene's grammar, and single characters.
FRAGMENTS = [
    "a", "b", "x1", "email", "app_metadata.dept", "_exists_", "_default_", "TO", "AND", "OR",
    "NOT", "&&", "||", "and", "*:*", ":", "(", ")", "[", "]", "{", "}", '"', "\\", "*", "?", "~",
    "^", "/", "+", "-", "!", "&", "|", " ", " ", " ", "\t", "\n", "\r", "\u3000", "\u2003",
    "\xa0", "\x0b", "\x0c", "\x00", "\\u0041", "\\u00", "\\ ", '\\"', "\\:", "\\*", "2", "0.5",
    "é", "e\u0301", "\U0001f600", " AND ", " OR ", " NOT ", " TO ",
]
ALPHABET = "ab:()[]{}\"\\*?~^/+-!&| \t\n\r\u3000\u2003\xa0\x0b.TOANDRNe\u0301\U0001f600_"


@settings(max_examples=3000, deadline=None, database=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14).map("".join))
def test_random_fragment_strings(lucene_oracle: LuceneOracle, q: str) -> None:
    assert disagreement(lucene_oracle, q) is None


@settings(max_examples=2000, deadline=None, database=None)
@given(st.text(alphabet=ALPHABET, min_size=1, max_size=24))
def test_random_character_strings(lucene_oracle: LuceneOracle, q: str) -> None:
    assert disagreement(lucene_oracle, q) is None


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(min_size=1, max_size=12))
def test_random_unicode_strings(lucene_oracle: LuceneOracle, q: str) -> None:
    if any(0xD800 <= ord(c) <= 0xDFFF for c in q):
        q = q.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    assert disagreement(lucene_oracle, q) is None


# -- what the emulator matches is what it read ----------------------------------------

DOCS = {
    "a": {"email": "a"}, "b": {"email": "b"}, "c": {"email": "c"},
    "bc": {"email": "b", "name": "c"}, "ab": {"email": "a", "name": "b"},
}


def found(q: str) -> set[str]:
    node = lucene.parse(q)
    return {key for key, doc in DOCS.items() if lucene.matches(node, doc)}


@pytest.mark.parametrize("q,expected", [
    ("a OR b AND c", {"bc"}),  # [SHOULD a, MUST b, MUST c]: a is optional
    ("a AND b OR c", {"ab"}),  # [MUST a, MUST b, SHOULD c]
    ("a b", {"a", "b", "bc", "ab"}),  # the default operator is OR
    ("NOT a", {"b", "c", "bc"}),  # purely negative: everything else (as Elasticsearch)
    ("c OR (-b)", {"a", "c", "bc"}),
    ("+b -c", {"b", "ab"}),
    ("(a)", {"a", "ab"}),
    ("*:*", set(DOCS)),
])
def test_matching_follows_the_occurs(q: str, expected: set[str]) -> None:
    assert found(q) == expected


def test_a_phrase_matches_a_whole_value_word_for_word() -> None:
    doc = {"name": "Alice  Anders", "app_metadata": {"team": "Blue Team"}}
    assert lucene.matches(lucene.parse('name:"alice anders"'), doc)
    assert not lucene.matches(lucene.parse('name:"alice"'), doc)
    assert not lucene.matches(lucene.parse('name:"alice anders x"'), doc)
    assert lucene.matches(lucene.parse('app_metadata.team:"Blue Team"'), doc)
    assert not lucene.matches(lucene.parse('app_metadata.team:"blue team"'), doc)


@pytest.mark.parametrize("q", [
    "a~1", "a^2", "/a.c/", '"a b"~2', "name:Alice\\ Anders", "a\u2003b", "*:x", "f\\*:x",
    "_default_:x", '""', "_exists_:a*", "(" * 70 + "a" + ")" * 70,
])
def test_refused(q: str) -> None:
    with pytest.raises(lucene.LuceneError):
        lucene.parse(q)
