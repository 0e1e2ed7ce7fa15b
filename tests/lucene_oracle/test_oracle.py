"""The Lucene oracle itself: Apache Lucene's classic QueryParser answers, as it really reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import lucene_oracle as oracle_module
from tests.support.lucene_oracle import LuceneOracle, lucene_oracle_fixture  # noqa: F401

D = oracle_module.DEFAULT_FIELD


def term(text: str, field: str = D) -> dict[str, object]:
    return {"term": [field, text]}


def test_and_is_two_must_term_clauses(lucene_oracle: LuceneOracle) -> None:
    assert lucene_oracle.parse("a AND b") == {
        "ok": True, "tree": {"bool": [["MUST", term("a")], ["MUST", term("b")]]}}


def test_default_operator_is_or_and_a_single_clause_is_the_clause_itself(
        lucene_oracle: LuceneOracle) -> None:
    assert lucene_oracle.parse("a b")["tree"] == {
        "bool": [["SHOULD", term("a")], ["SHOULD", term("b")]]}
    assert lucene_oracle.parse("(email:x)")["tree"] == term("x", "email")


def test_a_quote_ends_a_word_and_an_unclosed_quote_is_a_lexical_error(
        lucene_oracle: LuceneOracle) -> None:
    # `"` cannot be inside a bare term: it starts a phrase that must be closed.
    unclosed = lucene_oracle.parse('a"b')
    assert unclosed["ok"] is False
    assert unclosed["error"].startswith("Cannot parse 'a\"b': Lexical error")
    # Closed, it is three clauses: a, the one-word phrase "b" (a term), c.
    assert lucene_oracle.parse('a"b"c')["tree"] == {
        "bool": [["SHOULD", term("a")], ["SHOULD", term("b")], ["SHOULD", term("c")]]}


def test_the_attack_string_hides_a_phrase(lucene_oracle: LuceneOracle) -> None:
    assert lucene_oracle.parse('email:* OR a"b) OR (c"')["tree"] == {"bool": [
        ["SHOULD", {"wildcard": ["email", "*"]}],
        ["SHOULD", term("a")],
        ["SHOULD", {"phrase": [D, ["b)", "OR", "(c"], 0]}],
    ]}


def test_parse_errors_are_reported(lucene_oracle: LuceneOracle) -> None:
    answer = lucene_oracle.parse("a AND")
    assert answer["ok"] is False
    assert answer["error"] == "Cannot parse 'a AND': Encountered \"<EOF>\" at line 1, column 5."
    assert lucene_oracle.parse("a[b OR c]")["ok"] is False


def test_any_character_goes_through(lucene_oracle: LuceneOracle) -> None:
    # NUL, newline, U+3000 (query-parser whitespace), U+2003 (analyzer whitespace), emoji.
    assert lucene_oracle.parse("a\nb")["tree"] == {
        "bool": [["SHOULD", term("a")], ["SHOULD", term("b")]]}
    assert lucene_oracle.parse("a\u3000b") == lucene_oracle.parse("a\u2003b")
    assert lucene_oracle.parse("x\x00y")["tree"] == term("x\x00y")
    assert lucene_oracle.parse("name:\U0001f600")["tree"] == term("\U0001f600", "name")


def test_other_leaf_kinds(lucene_oracle: LuceneOracle) -> None:
    assert lucene_oracle.parse("_exists_:email")["tree"] == term("email", "_exists_")
    assert lucene_oracle.parse("f:[a TO *}")["tree"] == {"range": ["f", "a", None, True, False]}
    assert lucene_oracle.parse("ab*")["tree"] == {"prefix": [D, "ab"]}
    assert lucene_oracle.parse("a?c")["tree"] == {"wildcard": [D, "a?c"]}
    assert lucene_oracle.parse("abc~1")["tree"] == {"fuzzy": [D, "abc", 1]}
    assert lucene_oracle.parse("/a.c/")["tree"] == {"regexp": [D, "a.c"]}
    assert lucene_oracle.parse('"a b"~2^3')["tree"] == {
        "boost": [3.0, {"phrase": [D, ["a", "b"], 2]}]}
    assert lucene_oracle.parse("*:*")["tree"] == {"all": True}
    assert lucene_oracle.parse("NOT a")["tree"] == {"bool": [["MUST_NOT", term("a")]]}


def test_missing_lucene_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oracle_module, "JAR_DIR", Path("/nonexistent-lucene"))
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="liblucene8-java"):
        oracle_module.session_oracle()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="liblucene8-java"):
        oracle_module.session_oracle()
