// Package normalize lifts the literal constants out of a SQL statement with a small
// Go lexer, so that statements which differ only in their literals share one cached
// rewrite, and so that the audit log records statement text without literal values
// (DESIGN §6: PHI must never reach the log; §8: the hot path must be a cache hit).
//
// It sits inside the rewriter, between the session and the pg_query-based rewrite: the
// rewriter normalizes a statement, looks the normalized text up in its cache, and on a
// hit re-binds the client's literals into a cached, already rewritten Template. Only
// on a miss does it pay for pg_query. The package is pure: no I/O, no state, no logs.
//
// # The lexer
//
// The lexer follows the rules of PostgreSQL 15's scanner (docs: "Lexical Structure",
// sql-syntax-lexical.html) with standard_conforming_strings = on, which pgmask pins:
//
//   - '…' strings with doubled-quote escapes; E'…' strings with backslash escapes; U&'…' strings
//     with an optional UESCAPE '…' clause (lifted as one literal); N'…' national strings
//     (lifted with the N, which is an implicit cast to bpchar); B'…' and X'…' bit strings;
//     $tag$…$tag$ dollar quotes; string continuation across whitespace that contains a
//     newline ('a'<newline>'b' is one literal);
//   - numeric constants 42, 4.2, .5, 5., 1e10, 1.5E-3; a leading minus stays an operator;
//   - identifiers, "quoted identifiers" and $n parameters are not literals;
//   - -- and nested /* */ comments are kept in Text (Audit drops them).
//
// It never guesses. Normalize reports false, and the caller takes the slow path, for
// anything unterminated; for anything PostgreSQL 15 rejects while scanning (0x1F and
// 1_000 are PostgreSQL 16 syntax and "trailing junk" in 15; 1e; $1abc; E'\u12'; E'\0';
// operators longer than 63 bytes); for anything on which PostgreSQL 15 and the pg_query
// scanner disagree (a -- comment inside a string continuation; parameters past $65535);
// for NUL bytes and invalid UTF-8; for characters PostgreSQL returns as lone tokens (\,
// {, }, a lone $, control characters such as a vertical tab); for U&"…" UESCAPE; and
// wherever a literal touches a neighbouring token in a way that could merge tokens once
// the literal is replaced by $N or another literal of its kind is spliced in: DATE'x',
// 'a'AS, x&'a', 1.., t.5, $$a$$ then '…' on the next line, B'1' directly followed by
// '0'. Such statements are rare and stay correct: they just miss the literal-sharing cache.
//
// The lexer reads bytes and assumes client_encoding UTF8, where every byte below 0x80 is
// the ASCII character it looks like. It refuses invalid UTF-8, but that does not make it
// safe for the client-only encodings SJIS, SHIFT_JIS_2004, BIG5, GBK, UHC, GB18030 and
// JOHAB, whose multibyte characters can contain a byte that reads as a backslash: the
// proxy must use this package only for sessions whose client_encoding is UTF8.
//
// # Literal kinds
//
// Each literal has a kind that mirrors the token PostgreSQL's scanner returns and
// therefore the parse-tree node it becomes: integer (ICONST: digits that fit in int32),
// numeric (FCONST), string (SCONST: '…', E'…', $$…$$), Unicode string (U&'…'), national
// string (N'…'), bit string (B'…') and hex string (X'…'). Two statements with the same
// Text and the same kinds parse to the same tree shape, differing only in constant
// values. Templates check kinds; Text alone does not show them.
//
// # Placeholders are a key, not SQL to run
//
// Text replaces every literal by $N, including literals where a parameter is not valid
// SQL or means something else: ORDER BY 1 (a column position) becomes ORDER BY $1 (a
// constant), varchar(10) becomes varchar($1), INTERVAL '1' DAY becomes INTERVAL $1 DAY.
// Text is therefore only a cache key and audit text; it is never sent to PostgreSQL.
// Typed literals keep their type name (DATE '2020-01-01' becomes DATE $1, which happens
// to be valid SQL too). The SQL to run always comes from Bind or Template.Instantiate,
// which splice the client's own literal tokens back in.
//
// The cache key is the pair (Text, ParamBase): "SELECT $1, 5" and "SELECT $1, $2" both
// have Text "SELECT $1, $2" but ParamBase 1 and 2.
//
// # Reusing a rewrite
//
// A Template holds a rewritten statement with holes where the client's literal tokens go
// (LearnTemplate, MakeTemplate) and fills them for the next statement of the same shape
// (Instantiate). This is only correct when the rewrite does not depend on literal
// values; GUIDE.md in this directory lists what the rewriter must guarantee and shows the
// cache code.
package normalize
