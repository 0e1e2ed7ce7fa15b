"""Properties of the q parser over generated queries, and Apache Lucene as the judge.

For every q the gateway accepts (queries built from Lucene's grammar with hostile leaves,
and random strings over the characters the grammar cares about):
- the canonical form is a fixed point: parse(canonical(q)) == parse(q);
- the composed query has every scope clause as a top-level MUST clause;
- no leaf names a field that is not searchable.
With the Lucene oracle (tests/support/lucene_oracle.py, Lucene 8.7's classic QueryParser):
- Lucene parses what the gateway sends into exactly the gateway's tree, scope clauses MUST
  at the top, no hidden field anywhere;
- Lucene reads the caller's original q as the gateway did (the parser is faithful).
Anything else must be refused with QueryRefused (never another exception).
"""

from __future__ import annotations

import os
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.guards import lucene
from app.guards.lucene import (
    Bool,
    Node,
    Occur,
    Phrase,
    QueryRefused,
    canonical,
    parse,
    restrict,
    searchable,
)
from emulator.management import lucene as emulator_lucene
from tests.support.lucene_cases import ACCEPTED, ATTACKS, CANONICAL, REFUSED, TREES
from tests.support.lucene_oracle import (
    LuceneOracle,
    lucene_oracle_fixture,  # noqa: F401
)
from tests.support.lucene_strategies import (
    SCOPE,
    hidden_fields_in,
    leaves,
    normalize_wildcards,
    queries,
    random_queries,
    safe_queries,
    to_oracle_form,
)

CI = os.environ.get("CI") == "true"
# Deterministic and database-less in CI; locally hypothesis remembers failing examples.
_CI_ONLY: dict[str, Any] = {"derandomize": True, "database": None} if CI else {}


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow], **_CI_ONLY)


ADVERSARIAL = sorted({q for _, q, _ in REFUSED} | {q for _, q in ACCEPTED} | set(ATTACKS)
                     | {q for q, _ in CANONICAL} | {q for q, _ in TREES} | {
    'email:x OR a"b) OR (c" OR app_metadata.department:*',
    "email:(a b) AND name:(c OR d)",
    "a b c AND d OR e",
    "-a OR b",
    "NOT a AND NOT b",
    "email:x -(name:y OR name:z)",
    '+email:"a (b)" -name:"x \\" y"',
    "name:a\\:b OR name:\\+x",
    "email:*@x.com OR name:J?n* OR name:a**",
    "name:a&b name:a|b name:&&x",
    "\\&\\& OR \\|\\|",
    "logins_count:{* TO 10] OR logins_count:[* TO *]",
    "name:x)",
    "(name:x",
    "name:(x",
    "_exists_:email OR _exists_ : name",
    "email:a\\x*b",
    "name:\\AND* OR name:\\OR",
    "0 \\!*0",  # found by the oracle: a WILDTERM may start with an escape
    "(a)(b) a(b) email:x(name:y)",
    "a && b || c OR d AND e",
    "logins_count:[1 TO 2]AND x",
    "{a TO b}c",
    "AND\\:x ANDOR NOTa &&& |||",
    "name:\U0001F600 OR name:e\u0301",
})


def _parse_sent(sent: str) -> Node:
    """The gateway's reading of what it sends: the scope adds a clause, a group and text
    to the caller's q, which may then exceed the limits on q itself."""
    with mock.patch.multiple(lucene, MAX_LENGTH=10**6, MAX_DEPTH=100, MAX_LEAVES=10**6):
        return parse(sent, allowed=lambda _field: True)


def _accepted(q: str) -> Node | None:
    try:
        return parse(q)
    except QueryRefused as refused:
        assert 1 <= refused.position <= len(q) + 1, (q, refused.position)
        assert str(refused).startswith(f"at character {refused.position}: ")
        return None


def _composed(node: Node) -> Bool:
    return Bool(((Occur.MUST, node),
                 *((Occur.MUST, Phrase(field, value)) for field, value in SCOPE)))


def _check_gateway(q: str) -> Node | None:
    """The oracle-free properties; returns the tree when q is accepted."""
    node = _accepted(q)
    if node is None:
        return None
    text = canonical(q)
    assert parse(text) == node, (q, text)
    assert canonical(text) == text
    assert all(char == " " or (char.isprintable() and not char.isspace()) for char in text)
    for leaf in leaves(node):
        assert leaf.field is None or searchable(leaf.field), (q, leaf)
    sent = restrict(q, SCOPE)
    tree = _parse_sent(sent)
    assert tree == _composed(node), (q, sent)
    assert isinstance(tree, Bool)
    for field, value in SCOPE:
        assert (Occur.MUST, Phrase(field, value)) in tree.clauses
    return node


def _check_against_lucene(oracle: LuceneOracle, q: str) -> None:
    node = _check_gateway(q)
    if node is None:
        return
    # What is sent: exactly the gateway's tree, scope MUST at the top, nothing hidden.
    sent_text = restrict(q, SCOPE)
    sent = oracle.parse(sent_text)
    assert sent["ok"], (q, sent)
    # The emulator (the suite's stand-in for Auth0) reads what is sent exactly as Lucene.
    assert emulator_lucene.to_oracle_form(emulator_lucene.parse(sent_text)) == sent["tree"], q
    assert sent["tree"] == to_oracle_form(_composed(node)), (q, restrict(q, SCOPE))
    top = sent["tree"]["bool"]
    for field, value in SCOPE:
        assert ["MUST", {"term": [field, value]}] in top
    assert hidden_fields_in(sent["tree"]) == [], q
    # The canonical text on its own is read as the same tree, spelled identically.
    assert oracle.parse(canonical(q)) == {"ok": True, "tree": to_oracle_form(node)}, q
    # The caller's own text: Lucene reads it as the gateway did. Two deliberate gaps:
    # a wildcard keeps its raw escapes in Lucene's term (normalized here), and Lucene's
    # analyzer here is a WhitespaceAnalyzer while Auth0's fields have their own; the
    # gateway refuses every term an analyzer could split (spaces, escaped or not).
    original = oracle.parse(q)
    assert original["ok"], (q, original)
    assert normalize_wildcards(original["tree"]) == to_oracle_form(node), q


# -- without the oracle -------------------------------------------------------------------


@_settings(400)
@given(queries)
def test_grammar_built_queries(q: str) -> None:
    _check_gateway(q)


@_settings(200)
@given(safe_queries)
def test_well_formed_queries(q: str) -> None:
    _check_gateway(q)


@_settings(500)
@given(random_queries)
def test_random_strings(q: str) -> None:
    _check_gateway(q)


@_settings(300)
@given(st.text(max_size=30))
def test_arbitrary_unicode_is_refused_or_canonical(q: str) -> None:
    _check_gateway(q)


@pytest.mark.parametrize("q", ADVERSARIAL)
def test_adversarial_examples(q: str) -> None:
    _check_gateway(q)


def test_generators_reach_the_accepted_subset() -> None:
    """Guard against strategies that only ever produce refused queries."""
    accepted = {"hostile": 0, "well-formed": 0}

    @_settings(100)
    @given(queries, safe_queries)
    def count(hostile: str, well_formed: str) -> None:
        accepted["hostile"] += _accepted(hostile) is not None
        accepted["well-formed"] += _accepted(well_formed) is not None

    count()
    assert accepted["hostile"] >= 5 and accepted["well-formed"] >= 50, accepted


# -- with Apache Lucene ----------------------------------------------------------------------


@pytest.mark.parametrize("q", ADVERSARIAL)
def test_lucene_agrees_on_adversarial_examples(lucene_oracle: LuceneOracle, q: str) -> None:
    _check_against_lucene(lucene_oracle, q)


@_settings(400)
@given(q=queries)
@example(q='email:* OR a"b) OR (c"')
def test_lucene_agrees_on_grammar_built_queries(lucene_oracle: LuceneOracle, q: str) -> None:
    _check_against_lucene(lucene_oracle, q)


@_settings(250)
@given(q=safe_queries)
def test_lucene_agrees_on_well_formed_queries(lucene_oracle: LuceneOracle, q: str) -> None:
    _check_against_lucene(lucene_oracle, q)


@_settings(400)
@given(q=random_queries)
def test_lucene_agrees_on_random_strings(lucene_oracle: LuceneOracle, q: str) -> None:
    _check_against_lucene(lucene_oracle, q)


@pytest.mark.parametrize("q", sorted({q for _, q in ACCEPTED} | {q for q, _ in CANONICAL}))
def test_lucene_parses_what_the_gateway_accepts(lucene_oracle: LuceneOracle, q: str) -> None:
    assert parse(q) is not None
    assert lucene_oracle.parse(q)["ok"]


def test_lucene_drops_an_empty_scope_phrase(lucene_oracle: LuceneOracle) -> None:
    """Why restrict refuses scope values without a letter or digit: Lucene builds no query
    for a phrase its analyzer reduces to nothing and leaves the clause out entirely."""
    answer = lucene_oracle.parse('+(email:x) +app_metadata.department:""')
    assert answer == {"ok": True, "tree": {"bool": [["MUST", {"term": ["email", "x"]}]]}}
