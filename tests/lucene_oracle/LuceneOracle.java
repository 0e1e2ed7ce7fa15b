/*
 * The test suite's Lucene oracle: how Apache Lucene's classic QueryParser reads a query.
 *
 * Reads one query per line on stdin, each line a JSON string literal (so a query may hold
 * any character, newlines and NUL included, escaped as \\uXXXX). Parses each with
 * org.apache.lucene.queryparser.classic.QueryParser configured as Elasticsearch's
 * query_string uses it: default field "_default_", default operator OR, leading wildcards
 * allowed, and a WhitespaceAnalyzer so that terms are kept as written. Prints one JSON line
 * per query, flushed at once:
 *
 *   {"ok": true, "tree": TREE}  or  {"ok": false, "error": "first line of the message"}
 *
 * TREE, a normalized form of the Query object:
 *   BooleanQuery       {"bool": [[occur, TREE], ...]}   occur: MUST|SHOULD|MUST_NOT|FILTER
 *   TermQuery          {"term": [field, text]}
 *   PhraseQuery        {"phrase": [field, [text, ...], slop]}
 *   WildcardQuery      {"wildcard": [field, text]}
 *   PrefixQuery        {"prefix": [field, text]}
 *   RegexpQuery        {"regexp": [field, text]}
 *   FuzzyQuery         {"fuzzy": [field, text, maxEdits]}
 *   TermRangeQuery     {"range": [field, lower|null, upper|null, includeLower, includeUpper]}
 *   BoostQuery         {"boost": [boost, TREE]}
 *   MatchAllDocsQuery  {"all": true}
 *   MatchNoDocsQuery   {"none": true}
 *   anything else      {"other": [className, toString]}
 *
 * No dependency besides the Lucene jars (core, queryparser, analyzers-common): the JSON
 * reading and writing below is hand-written and handles exactly what this program needs.
 * Output is pure ASCII (every other character escaped), so the platform charset is moot.
 */

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.apache.lucene.analysis.core.WhitespaceAnalyzer;
import org.apache.lucene.index.Term;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.BoostQuery;
import org.apache.lucene.search.FuzzyQuery;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.PhraseQuery;
import org.apache.lucene.search.PrefixQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.RegexpQuery;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TermRangeQuery;
import org.apache.lucene.search.WildcardQuery;
import org.apache.lucene.util.BytesRef;

public final class LuceneOracle {
    static final String DEFAULT_FIELD = "_default_";

    public static void main(String[] args) throws Exception {
        // Deeply nested parentheses recurse in the generated parser: give it a big stack.
        Thread worker = new Thread(null, () -> {
            try {
                serve();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, "oracle", 512L * 1024 * 1024);
        worker.start();
        worker.join();
    }

    static void serve() throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, "UTF-8");
        String line;
        while ((line = in.readLine()) != null) {
            if (line.trim().isEmpty()) {
                continue;
            }
            String answer;
            try {
                answer = answer(decodeString(line.trim()));
            } catch (IllegalArgumentException badInput) {
                answer = "{\"ok\": false, \"error\": " + str("oracle input error: " + badInput.getMessage()) + "}";
            }
            out.print(answer);
            out.print('\n');
            out.flush();
        }
    }

    static String answer(String query) {
        QueryParser parser = new QueryParser(DEFAULT_FIELD, new WhitespaceAnalyzer());
        parser.setDefaultOperator(QueryParser.Operator.OR);
        parser.setAllowLeadingWildcard(true);
        try {
            Query parsed = parser.parse(query);
            return "{\"ok\": true, \"tree\": " + tree(parsed) + "}";
        } catch (Exception | StackOverflowError e) {
            String message = e.getMessage() == null ? "" : e.getMessage();
            int newline = message.indexOf('\n');
            if (newline >= 0) {
                message = message.substring(0, newline);
            }
            if (!(e instanceof org.apache.lucene.queryparser.classic.ParseException)) {
                message = e.getClass().getSimpleName() + ": " + message;
            }
            return "{\"ok\": false, \"error\": " + str(message) + "}";
        }
    }

    static String tree(Query q) {
        if (q instanceof BooleanQuery) {
            StringBuilder b = new StringBuilder("{\"bool\": [");
            boolean first = true;
            for (BooleanClause clause : ((BooleanQuery) q).clauses()) {
                if (!first) {
                    b.append(", ");
                }
                first = false;
                b.append('[').append(str(clause.getOccur().name())).append(", ")
                        .append(tree(clause.getQuery())).append(']');
            }
            return b.append("]}").toString();
        }
        if (q instanceof TermQuery) {
            Term t = ((TermQuery) q).getTerm();
            return "{\"term\": [" + str(t.field()) + ", " + str(t.text()) + "]}";
        }
        if (q instanceof PhraseQuery) {
            PhraseQuery p = (PhraseQuery) q;
            StringBuilder b = new StringBuilder("{\"phrase\": [");
            b.append(str(p.getField())).append(", [");
            Term[] terms = p.getTerms();
            for (int i = 0; i < terms.length; i++) {
                if (i > 0) {
                    b.append(", ");
                }
                b.append(str(terms[i].text()));
            }
            return b.append("], ").append(p.getSlop()).append("]}").toString();
        }
        if (q instanceof WildcardQuery) {
            Term t = ((WildcardQuery) q).getTerm();
            return "{\"wildcard\": [" + str(t.field()) + ", " + str(t.text()) + "]}";
        }
        if (q instanceof PrefixQuery) {
            Term t = ((PrefixQuery) q).getPrefix();
            return "{\"prefix\": [" + str(t.field()) + ", " + str(t.text()) + "]}";
        }
        if (q instanceof RegexpQuery) {
            Term t = ((RegexpQuery) q).getRegexp();
            return "{\"regexp\": [" + str(t.field()) + ", " + str(t.text()) + "]}";
        }
        if (q instanceof FuzzyQuery) {
            FuzzyQuery f = (FuzzyQuery) q;
            Term t = f.getTerm();
            return "{\"fuzzy\": [" + str(t.field()) + ", " + str(t.text()) + ", " + f.getMaxEdits() + "]}";
        }
        if (q instanceof TermRangeQuery) {
            TermRangeQuery r = (TermRangeQuery) q;
            return "{\"range\": [" + str(r.getField()) + ", " + bytes(r.getLowerTerm()) + ", "
                    + bytes(r.getUpperTerm()) + ", " + r.includesLower() + ", " + r.includesUpper() + "]}";
        }
        if (q instanceof BoostQuery) {
            BoostQuery b = (BoostQuery) q;
            return "{\"boost\": [" + number(b.getBoost()) + ", " + tree(b.getQuery()) + "]}";
        }
        if (q instanceof MatchAllDocsQuery) {
            return "{\"all\": true}";
        }
        if (q instanceof MatchNoDocsQuery) {
            return "{\"none\": true}";
        }
        return "{\"other\": [" + str(q.getClass().getName()) + ", " + str(q.toString()) + "]}";
    }

    static String bytes(BytesRef ref) {
        return ref == null ? "null" : str(ref.utf8ToString());
    }

    static String number(float f) {
        if (Float.isNaN(f) || Float.isInfinite(f)) {
            return str(Float.toString(f));
        }
        return Float.toString(f);
    }

    // -- JSON -----------------------------------------------------------------------------

    /** A JSON string literal, ASCII only: every non-printable or non-ASCII char as \\uXXXX. */
    static String str(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                b.append("\\\"");
            } else if (c == '\\') {
                b.append("\\\\");
            } else if (c >= 0x20 && c < 0x7f) {
                b.append(c);
            } else {
                b.append(String.format("\\u%04x", (int) c));
            }
        }
        return b.append('"').toString();
    }

    /** Decode exactly one JSON string literal (the whole of {@code s}). */
    static String decodeString(String s) {
        if (s.length() < 2 || s.charAt(0) != '"' || s.charAt(s.length() - 1) != '"') {
            throw new IllegalArgumentException("each line must be one JSON string literal");
        }
        StringBuilder b = new StringBuilder(s.length());
        int i = 1;
        int end = s.length() - 1;
        while (i < end) {
            char c = s.charAt(i++);
            if (c == '"') {
                throw new IllegalArgumentException("unescaped quote inside the string");
            }
            if (c != '\\') {
                b.append(c);
                continue;
            }
            if (i >= end) {
                throw new IllegalArgumentException("dangling backslash");
            }
            char e = s.charAt(i++);
            switch (e) {
                case '"': b.append('"'); break;
                case '\\': b.append('\\'); break;
                case '/': b.append('/'); break;
                case 'b': b.append('\b'); break;
                case 'f': b.append('\f'); break;
                case 'n': b.append('\n'); break;
                case 'r': b.append('\r'); break;
                case 't': b.append('\t'); break;
                case 'u':
                    if (i + 4 > end) {
                        throw new IllegalArgumentException("short \\u escape");
                    }
                    b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                    i += 4;
                    break;
                default:
                    throw new IllegalArgumentException("bad escape \\" + e);
            }
        }
        return b.toString();
    }
}
