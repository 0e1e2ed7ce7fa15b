"""The q parser: everything outside the safe subset is refused (with the character where
it goes wrong); ordinary searches pass and are resent in canonical form with every scope
clause required at the top level."""

from __future__ import annotations

import pytest

from app.guards.lucene import (
    Bool,
    Leaf,
    Node,
    Occur,
    Phrase,
    QueryRefused,
    canonical,
    check_query,
    parse,
    phrase,
    restrict,
    searchable,
)
from tests.support.lucene_cases import ACCEPTED, ATTACKS, CANONICAL, REFUSED, TREES


@pytest.mark.parametrize(("q", "reason"), [(q, r) for _, q, r in REFUSED],
                         ids=[i for i, _, _ in REFUSED])
def test_dangerous_queries_are_refused(q: str, reason: str) -> None:
    with pytest.raises(QueryRefused, match=reason) as refused:
        check_query(q)
    assert 1 <= refused.value.position <= len(q) + 1
    assert str(refused.value).startswith(f"at character {refused.value.position}: ")


@pytest.mark.parametrize("q", [q for _, q in ACCEPTED], ids=[i for i, _ in ACCEPTED])
def test_ordinary_queries_pass(q: str) -> None:
    check_query(q)


def test_phrase_escapes_backslash_and_quote() -> None:
    assert phrase('a"b\\c') == '"a\\"b\\\\c"'


def test_restrict_wraps_the_callers_query() -> None:
    assert restrict("name:x OR name:y", [("app_metadata.department", "support")]) == \
        '+(name:x OR name:y) +app_metadata.department:"support"'


def test_restrict_without_query_is_the_clauses_alone() -> None:
    clauses = [("app_metadata.department", "sales"), ("app_metadata.org_id", "org_1")]
    assert restrict(None, clauses) == \
        '+app_metadata.department:"sales" +app_metadata.org_id:"org_1"'
    assert restrict("  ", clauses[:1]) == '+app_metadata.department:"sales"'


@pytest.mark.parametrize(("q", "tree"), TREES, ids=[q for q, _ in TREES])
def test_parse_reads_like_lucene(q: str, tree: Node) -> None:
    assert parse(q, allowed=lambda field: True) == tree


@pytest.mark.parametrize(("q", "expected"), CANONICAL, ids=[q for q, _ in CANONICAL])
def test_canonical_form(q: str, expected: str) -> None:
    assert canonical(q) == expected
    assert canonical(expected) == expected


def _leaves(node: Node) -> list[Leaf]:
    if isinstance(node, Bool):
        return [leaf for _, child in node.clauses for leaf in _leaves(child)]
    return [node]


@pytest.mark.parametrize("q", ATTACKS)
def test_attacks_are_refused_or_stay_inside_the_scope(q: str) -> None:
    scope = [("app_metadata.department", "support")]
    try:
        sent = restrict(q, scope)
    except QueryRefused:
        return
    tree = parse(sent)
    assert isinstance(tree, Bool)
    assert tree.clauses[-1] == (Occur.MUST, Phrase("app_metadata.department", "support"))
    assert tree.clauses[0] == (Occur.MUST, parse(q))
    assert all(leaf.field is None or searchable(leaf.field) for leaf in _leaves(tree))
    assert "access_token" not in sent


def test_quote_inside_a_word_is_read_as_lucene_reads_it() -> None:
    # Lucene: `a`, then a phrase running to the next quote. The gateway now agrees.
    assert canonical('email:* OR a"b) OR (c"') == '(email:* OR a OR "b) OR (c")'
    assert restrict('email:* OR a"b) OR (c"', [("app_metadata.department", "support")]) == \
        '+(email:* OR a OR "b) OR (c") +app_metadata.department:"support"'


def test_bracket_inside_a_word_is_refused_where_it_starts() -> None:
    with pytest.raises(QueryRefused, match="at character 2: ") as refused:
        check_query("a[b OR identities.access_token:ya29* OR c]")
    assert refused.value.position == 2


def test_restrict_puts_a_single_term_in_parentheses() -> None:
    assert restrict("email:x", [("app_metadata.department", "a b")]) == \
        '+(email:x) +app_metadata.department:"a b"'


def test_restrict_parses_q_itself() -> None:
    with pytest.raises(QueryRefused):
        restrict("identities.access_token:x", [("app_metadata.department", "support")])


@pytest.mark.parametrize("value", ["", "  ", "-", '"', "a\x00"])
def test_restrict_refuses_scope_values_that_could_vanish(value: str) -> None:
    # Lucene drops a phrase that analyzes to no term: `+(q) +f:""` reads as `+(q)`.
    with pytest.raises(ValueError, match="scope value"):
        restrict("email:x", [("app_metadata.department", value)])


def test_restrict_refuses_a_scope_field_that_is_not_plain() -> None:
    with pytest.raises(ValueError, match="plain field"):
        restrict(None, [("app_metadata.department:x OR y", "support")])


def test_phrase_scope_values_are_escaped() -> None:
    assert restrict(None, [("app_metadata.department", 'a"b\\c')]) == \
        '+app_metadata.department:"a\\"b\\\\c"'
