"""The q parser's case tables: queries it refuses (with why), accepts, reads as Lucene does,
resends in canonical form, and the attacks of the issue.

tests/guards/test_lucene.py checks each row; tests/guards/test_lucene_properties.py also
feeds them to Apache Lucene.
"""

from __future__ import annotations

from app.guards.lucene import (
    Bool,
    Exists,
    Occur,
    Phrase,
    Prefix,
    Range,
    Term,
    Wildcard,
)

REFUSED = [
    # Elasticsearch reads field:>10 as an open range (after unescaping); Lucene as a term.
    ("comparison-gte", "logins_count:>=100", "comparisons"),
    ("comparison-lt", "created_at:<2024", "comparisons"),
    ("comparison-escaped", "name:\\>m", "comparisons"),
    ("comparison-prefix", "name:>m*", "comparisons"),
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
