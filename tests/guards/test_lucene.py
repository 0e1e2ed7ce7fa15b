"""The q parser: everything outside the safe subset is refused (with the character where
it goes wrong); ordinary searches pass and are resent in canonical form with every scope
clause required at the top level."""

from __future__ import annotations

import pytest

from app.guards.lucene import (
    Bool,
    Exists,
    Leaf,
    Node,
    Occur,
    Phrase,
    Prefix,
    QueryRefused,
    Range,
    Term,
    Wildcard,
    canonical,
    check_query,
    parse,
    phrase,
    restrict,
    searchable,
)

REFUSED = [
    # Without a field Auth0 chooses what is searched: a pattern could probe a hidden field.
    ("unfielded-prefix", "ya29*", "need a field name"),
    ("unfielded-wildcard", "ya2?.abc", "need a field name"),
    ("unfielded-range", "[ya29.a TO ya29.b]", "need a field name"),
    ("close-then-or", ") OR (", "closes more"),
    ("close-early", "name:x) OR (app_metadata.department:sales", "closes more"),
    ("unclosed-paren", "(name:x", "never closed"),
    ("unclosed-quote", 'name:"x', "not closed"),
    ("quote-swallows-suffix", 'name:"x) OR (y', "not closed"),
    ("trailing-backslash", "name:x\\", "escapes nothing"),
    ("regex", "name:/a.*/", "regular expressions"),
    ("regex-paren", "x:/(/ ) OR (y:/)/", "regular expressions"),
    ("field-wildcard", "*:x", "not allowed"),
    ("nested-field-wildcard", "app_metadata.*:sales", "not allowed"),
    ("hidden-idp-token", "identities.access_token:ya29*", "not allowed"),
    ("unknown-field", "secret_field:1", "not allowed"),
    ("escaped-field-name", "app_metadata\\.department\\):x", "escaped"),
    ("exists-hidden-field", "_exists_:identities.refresh_token", "not allowed"),
    ("exists-without-field", "_exists_:", "needs a field name"),
    ("exists-then-paren", "_exists_:(x)", "field name"),
    ("unclosed-range", "created_at:[2020 TO *", "not closed"),
    ("range-with-paren", "created_at:[a TO b)]", "plain values"),
    ("stray-range-close", "name:x]", "never opened"),
    ("control-character", "name:x\x00", "control"),
    ("newline", "name:x\n) OR (y", "control"),
    # Lucene splits terms at U+3000 too: one "word" here would hide a second field.
    ("ideographic-space", "email:x\u3000identities.access_token:ya29*", "spaces and tabs"),
    ("no-break-space", "email:x\u00a0_exists_:identities.refresh_token", "spaces and tabs"),
    # Hidden fields in every spelling.
    ("escaped-dot", "identities\\.access_token:ya29*", "escaped"),
    ("escaped-field-wildcard", "identities.\\*:x", "escaped"),
    ("field-wildcard-in-name", "identities.*:x", "not allowed"),
    ("match-all-fields", "*:*", "not allowed"),
    ("exists-escaped", "_exists_:identities\\.access_token", "escaped"),
    ("exists-wildcard", "_exists_:identities.*", "needs a field name"),
    ("exists-phrase", '_exists_:"identities.access_token"', "needs a field name"),
    ("hidden-field-on-group", "identities.access_token:(a OR b)", "not allowed"),
    ("hidden-field-in-group", "email:(a OR identities.access_token:b)", "not allowed"),
    ("look-alike-dot", "identities\u2024access_token:x", "not allowed"),
    ("fullwidth-letters", "\uff45mail:x", "not allowed"),
    ("unicode-escape-in-field", "identities\\u002eaccess_token:x", "escaped"),
    ("default-field", "_default_:x", "not allowed"),
    # What only some readers understand the same way.
    ("fuzzy", "name:jon~", "fuzzy"),
    ("fuzzy-inside-word", "name:a~b", "fuzzy"),
    ("proximity", 'name:"a b"~2', "proximity"),
    ("boost", "name:a^2", "boosts"),
    ("group-boost", "(name:a)^2", "boosts"),
    ("unicode-escape", "name:\\u0041", "\\\\u escapes"),
    ("escaped-space", "name:a\\ b", "spaces"),
    ("escaped-tab", "name:a\\\tb", "spaces"),
    ("escaped-star", "name:a\\*b", "escaped '\\*'"),
    ("escaped-backslash", "name:a\\\\b", "backslash"),
    ("tab-in-phrase", 'name:"a\tb"', "only spaces"),
    ("empty-phrase", 'name:""', "must hold a word"),
    ("blank-phrase", 'name:"  "', "must hold a word"),
    ("zero-width-space", "email:x\u200bidentities.access_token:y", "invisible"),
    ("bidi-override", "email:\u202ex", "invisible"),
    ("line-separator", "email:x\u2028y", "spaces and tabs"),
    ("em-space", "email:x\u2003y", "spaces and tabs"),
    ("bare-plus", "a + b", "right before"),
    ("bare-not", "! a", "right before"),
    ("quoted-range", 'created_at:["a" TO b]', "plain values"),
    ("range-wildcard", "created_at:[a* TO b]", "plain values"),
    ("range-to-value", "created_at:[TO TO b]", "plain values"),
    ("range-no-to", "created_at:[a b]", "low TO high"),
    ("range-lowercase-to", "created_at:[a to b]", "low TO high"),
    ("range-tab", "created_at:[a\tTO b]", "plain values"),
    ("empty-group", "name:x OR ()", "empty groups"),
    ("empty-field-group", "name:()", "empty groups"),
    ("dangling-and", "name:x AND", "ends where"),
    ("leading-or", "OR name:x", "not expected"),
    ("keyword-as-field", "AND:x", "not expected"),
    ("double-not", "NOT NOT name:x", "not expected"),
    ("empty", "   ", "empty"),
    ("too-deep", "(" * 11 + "x" + ")" * 11, "nest"),
    ("too-many-terms", " ".join(["x"] * 65), "at most 64"),
    ("too-long", "x" * 1025, "at most 1024"),
]


@pytest.mark.parametrize(("q", "reason"), [(q, r) for _, q, r in REFUSED],
                         ids=[i for i, _, _ in REFUSED])
def test_dangerous_queries_are_refused(q: str, reason: str) -> None:
    with pytest.raises(QueryRefused, match=reason) as refused:
        check_query(q)
    assert 1 <= refused.value.position <= len(q) + 1
    assert str(refused.value).startswith(f"at character {refused.value.position}: ")


ACCEPTED = [
    ("star", "*"),
    ("field-value", "email:alice@example.com"),
    ("metadata", "app_metadata.department:support"),
    ("metadata-exists", "app_metadata.department:*"),
    ("exists", "_exists_:app_metadata.org_id"),
    ("boolean", "name:Ana AND NOT blocked:true OR (email:*@gmail.com)"),
    ("phrase-with-parens", 'name:"A (B) \\" C"'),
    ("escaped-paren", "name:a\\)b"),
    ("escaped-slash", "name:a\\/b"),
    ("range", "logins_count:[10 TO *] AND created_at:{2020-01-01 TO 2024-01-01}"),
    ("grouped-field", "email:(a@example.com OR b@example.com)"),
    ("identities-connection", 'identities.connection:"google-oauth2"'),
    ("must-not-operator", "-blocked:true"),
    ("must-operator", "+email:a@example.com !name:x"),
    ("spaced-colon", "email : a@example.com"),
    ("unfielded-words", "ana maria"),
    ("keyword-escaped", "\\AND"),
    ("deep-enough", "(" * 10 + "x" + ")" * 10),
    ("many-terms", " ".join(["x"] * 64)),
    ("open-range", "created_at:{* TO 2024-01-01T00:00:00.000Z]"),
    ("prefix-with-escape", "name:a\\(b*"),
    ("leading-wildcard", "email:*@example.com"),
    ("question-mark", "name:J?n"),
    ("unicode-letters", "name:Jos\u00e9 AND name:\u5f20"),
    ("tabs-between", "name:x\tOR\tname:y"),
]


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


# Lucene's own reading (checked against Apache Lucene 8.7 by test_lucene_properties.py).
TREES = [
    ("email:x", Term("email", "x")),
    ("(((email:x)))", Term("email", "x")),
    ("+email:x", Bool(((Occur.MUST, Term("email", "x")),))),
    ("a b", Bool(((Occur.SHOULD, Term(None, "a")), (Occur.SHOULD, Term(None, "b"))))),
    # AND makes the clause before it required; OR changes nothing under default OR.
    ("a OR b AND c", Bool(((Occur.SHOULD, Term(None, "a")), (Occur.MUST, Term(None, "b")),
                           (Occur.MUST, Term(None, "c"))))),
    ("a AND NOT b", Bool(((Occur.MUST, Term(None, "a")), (Occur.MUST_NOT, Term(None, "b"))))),
    ("NOT a AND b", Bool(((Occur.MUST_NOT, Term(None, "a")), (Occur.MUST, Term(None, "b"))))),
    ("+a OR b", Bool(((Occur.MUST, Term(None, "a")), (Occur.SHOULD, Term(None, "b"))))),
    ("a!b", Bool(((Occur.SHOULD, Term(None, "a")), (Occur.MUST_NOT, Term(None, "b"))))),
    ("a&&b", Term(None, "a&&b")),
    ("a-b", Term(None, "a-b")),
    ("email:(a b)", Bool(((Occur.SHOULD, Term("email", "a")),
                          (Occur.SHOULD, Term("email", "b"))))),
    ("email:(name:x)", Term("name", "x")),
    ('name:"x"y', Bool(((Occur.SHOULD, Phrase("name", "x")), (Occur.SHOULD, Term(None, "y"))))),
    ("email:*", Wildcard("email", "*")),
    ("email:a*", Prefix("email", "a")),
    ("email:a**", Wildcard("email", "a**")),
    ("email:*a", Wildcard("email", "*a")),
    ("email:\\!*0", Wildcard("email", "!*0")),  # an escape starts a WILDTERM too
    ("a\tb", Bool(((Occur.SHOULD, Term(None, "a")), (Occur.SHOULD, Term(None, "b"))))),
    ("name:a\\(b*", Prefix("name", "a(b")),
    ("x:[1 TO *}".replace("x", "logins_count"), Range("logins_count", "1", None, True, False)),
    ("_exists_:email", Exists("email")),
    ("_exists_ : email", Exists("email")),
]


@pytest.mark.parametrize(("q", "tree"), TREES, ids=[q for q, _ in TREES])
def test_parse_reads_like_lucene(q: str, tree: Node) -> None:
    assert parse(q, allowed=lambda field: True) == tree


CANONICAL = [
    ("name:Ana AND NOT blocked:true OR (email:*@gmail.com)",
     "(+name:Ana -blocked:true OR email:*@gmail.com)"),
    ("ana maria", "(ana OR maria)"),
    ("email : x", "email:x"),
    ("+a b c -d", "(+a OR b OR c -d)"),
    ("name:a\\)b", "name:a\\)b"),
    ("name:\\a\\b", "name:ab"),
    ("name:a&&b", "name:a\\&\\&b"),
    ("\\AND OR \\OR", "(\\AND OR \\OR)"),
    ('name:"A (B) \\" C"', 'name:"A (B) \\" C"'),
    ("email:(a@example.com OR b@example.com)", "(email:a@example.com OR email:b@example.com)"),
    ("(+name:x)", "(+name:x)"),
    ("logins_count:[10 TO *] AND created_at:{2020-01-01 TO 2024-01-01}",
     "(+logins_count:[10 TO *] +created_at:{2020-01-01 TO 2024-01-01})"),
]


@pytest.mark.parametrize(("q", "expected"), CANONICAL, ids=[q for q, _ in CANONICAL])
def test_canonical_form(q: str, expected: str) -> None:
    assert canonical(q) == expected
    assert canonical(expected) == expected


# The attacks: the old checker and Lucene disagreed about a quote or a bracket
# inside a word. Each is refused, or resent as Lucene reads it with the scope required.
ATTACKS = [
    'email:* OR a"b) OR (c"',
    "a[b OR identities.access_token:ya29* OR c]",
    "a{b OR identities.access_token:ya29* OR c}",
    'email:x OR a"b) OR app_metadata.department:* OR (c"',
    "email:x) OR (app_metadata.department:*",
    "a\\\\) OR (app_metadata.department:*",
]


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
