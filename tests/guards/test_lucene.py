"""The q checker: everything that could leave its parentheses is refused; ordinary
searches pass and compose into (q) AND clause."""

from __future__ import annotations

import pytest

from app.guards.lucene import QueryRefused, check_query, phrase, restrict

REFUSED = [
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
    ("exists-without-field", "_exists_:", "field name"),
    ("exists-then-paren", "_exists_:(x)", "field name"),
    ("unclosed-range", "created_at:[2020 TO *", "not closed"),
    ("range-with-paren", "created_at:[a TO b)]", "plain values"),
    ("stray-range-close", "name:x]", "never opened"),
    ("control-character", "name:x\x00", "control"),
    ("newline", "name:x\n) OR (y", "control"),
    # Lucene splits terms at U+3000 too: one "word" here would hide a second field.
    ("ideographic-space", "email:x\u3000identities.access_token:ya29*", "spaces and tabs"),
    ("no-break-space", "email:x\u00a0_exists_:identities.refresh_token", "spaces and tabs"),
]


@pytest.mark.parametrize(("q", "reason"), [(q, r) for _, q, r in REFUSED],
                         ids=[i for i, _, _ in REFUSED])
def test_dangerous_queries_are_refused(q: str, reason: str) -> None:
    with pytest.raises(QueryRefused, match=reason):
        check_query(q)


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
]


@pytest.mark.parametrize("q", [q for _, q in ACCEPTED], ids=[i for i, _ in ACCEPTED])
def test_ordinary_queries_pass(q: str) -> None:
    check_query(q)


def test_phrase_escapes_backslash_and_quote() -> None:
    assert phrase('a"b\\c') == '"a\\"b\\\\c"'


def test_restrict_wraps_the_callers_query() -> None:
    assert restrict("name:x OR name:y", [("app_metadata.department", "support")]) == \
        '(name:x OR name:y) AND app_metadata.department:"support"'


def test_restrict_without_query_is_the_clauses_alone() -> None:
    clauses = [("app_metadata.department", "sales"), ("app_metadata.org_id", "org_1")]
    assert restrict(None, clauses) == \
        'app_metadata.department:"sales" AND app_metadata.org_id:"org_1"'
    assert restrict("  ", clauses[:1]) == 'app_metadata.department:"sales"'
