package transform

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// kind is the family of a column type, which decides which transforms fit it.
type kind int

const (
	kindOther     kind = iota
	kindText           // text, character varying[(n)], character[(n)], bpchar, name
	kindInt            // smallint, integer, bigint
	kindNumeric        // numeric[(p[,s])]
	kindFloat          // real, double precision
	kindDate           // date
	kindTimestamp      // timestamp[(p)] with[out] time zone
	kindBool           // boolean
	kindUUID           // uuid
	kindJSON           // json, jsonb
	kindBytea          // bytea
	kindArray          // any array type
)

// colType is a column type as pg_catalog.format_type() prints it, parsed.
type colType struct {
	name string // as given, for messages
	kind kind
	// cast is the type as pgmask writes it after "::": built-in types are written so
	// that they can only resolve to pg_catalog (SQL keyword syntax or a pg_catalog
	// qualified name); other types are rebuilt from their parse tree.
	cast string
	// length is n of character varying(n) / character(n); 0 when unconstrained.
	length int
	// precision and scale of numeric(p,s); precision 0 when unconstrained.
	precision, scale int
	// bits is the width of an integer type (16, 32, 64).
	bits int
	// json is "json" or "jsonb" for kindJSON.
	json string
}

var (
	reVarchar   = regexp.MustCompile(`^character varying(?:\((\d+)\))?$`)
	reChar      = regexp.MustCompile(`^character(?:\((\d+)\))?$`)
	reNumeric   = regexp.MustCompile(`^numeric(?:\((\d+)(?:,\s*(\d+))?\))?$`)
	reTimestamp = regexp.MustCompile(`^(timestamp(?:\(\d\))? with(?:out)? time zone)$`)
)

// parseType parses a type as format_type prints it.
func parseType(s string) (colType, error) {
	s = strings.TrimSpace(s)
	t := colType{name: s}
	if s == "" {
		return t, fmt.Errorf("empty column type")
	}
	if strings.HasSuffix(s, "[]") {
		elem, err := parseType(strings.TrimSuffix(s, "[]"))
		if err != nil {
			return t, err
		}
		t.kind, t.cast = kindArray, elem.cast+"[]"
		return t, nil
	}
	switch s {
	case "text", "name", "bpchar":
		t.kind, t.cast = kindText, "pg_catalog."+s
		return t, nil
	case "smallint", "integer", "bigint":
		t.kind, t.cast = kindInt, s
		t.bits = map[string]int{"smallint": 16, "integer": 32, "bigint": 64}[s]
		return t, nil
	case "real", "double precision":
		t.kind, t.cast = kindFloat, s
		return t, nil
	case "date":
		t.kind, t.cast = kindDate, "pg_catalog.date"
		return t, nil
	case "boolean":
		t.kind, t.cast = kindBool, s
		return t, nil
	case "uuid":
		t.kind, t.cast = kindUUID, "pg_catalog.uuid"
		return t, nil
	case "json", "jsonb":
		t.kind, t.cast, t.json = kindJSON, "pg_catalog."+s, s
		return t, nil
	case "bytea":
		t.kind, t.cast = kindBytea, "pg_catalog.bytea"
		return t, nil
	}
	if m := reVarchar.FindStringSubmatch(s); m != nil {
		t.kind, t.cast = kindText, "character varying"
		if m[1] != "" {
			n, err := strconv.Atoi(m[1])
			if err != nil || n < 1 {
				return t, fmt.Errorf("bad length in column type %q", s)
			}
			t.length, t.cast = n, fmt.Sprintf("character varying(%d)", n)
		}
		return t, nil
	}
	if m := reChar.FindStringSubmatch(s); m != nil {
		// Without a length format_type means unconstrained bpchar.
		t.kind, t.cast = kindText, "pg_catalog.bpchar"
		if m[1] != "" {
			n, err := strconv.Atoi(m[1])
			if err != nil || n < 1 {
				return t, fmt.Errorf("bad length in column type %q", s)
			}
			t.length, t.cast = n, fmt.Sprintf("character(%d)", n)
		}
		return t, nil
	}
	if m := reNumeric.FindStringSubmatch(s); m != nil {
		t.kind, t.cast = kindNumeric, "numeric"
		if m[1] != "" {
			p, err1 := strconv.Atoi(m[1])
			sc := 0
			var err2 error
			if m[2] != "" {
				sc, err2 = strconv.Atoi(m[2])
			}
			if err1 != nil || err2 != nil || p < 1 || p > 1000 || sc < 0 || sc > p {
				return t, fmt.Errorf("bad precision or scale in column type %q", s)
			}
			t.precision, t.scale, t.cast = p, sc, fmt.Sprintf("numeric(%d,%d)", p, sc)
		}
		return t, nil
	}
	if m := reTimestamp.FindStringSubmatch(s); m != nil {
		t.kind, t.cast = kindTimestamp, m[1]
		return t, nil
	}
	cast, err := rebuildTypeName(s)
	if err != nil {
		return t, err
	}
	t.kind, t.cast = kindOther, cast
	return t, nil
}

// rebuildTypeName checks that s is nothing but a type name (as format_type prints
// enums, domains, intervals, times, network types …) and returns it as the parser
// understood it, so no text other than a type name can reach a cast.
func rebuildTypeName(s string) (string, error) {
	const prefix = "SELECT NULL::"
	bad := fmt.Errorf("column type %q is not a plain type name", s)
	tree, err := pg_query.Parse(prefix + s)
	if err != nil || len(tree.Stmts) != 1 {
		return "", bad
	}
	sel := tree.Stmts[0].GetStmt().GetSelectStmt()
	if sel == nil || len(sel.TargetList) != 1 || !onlyTargets(sel) {
		return "", bad
	}
	rt := sel.TargetList[0].GetResTarget()
	if rt == nil || rt.Name != "" || len(rt.Indirection) != 0 {
		return "", bad
	}
	tc := rt.Val.GetTypeCast()
	if tc == nil || tc.Arg.GetAConst() == nil || !tc.Arg.GetAConst().Isnull {
		return "", bad
	}
	tn := tc.TypeName
	if tn == nil || tn.Setof || tn.PctType || len(tn.Names) == 0 {
		return "", bad
	}
	for _, n := range tn.Names {
		if n.GetString_() == nil {
			return "", bad
		}
	}
	if len(tn.Names) == 1 {
		// An unqualified name would be looked up through the session's search_path,
		// where a lookalike type could shadow it.
		name := tn.Names[0].GetString_().Sval
		if !catalogTypes[name] {
			return "", fmt.Errorf("column type %q is not schema-qualified (print types with pg_catalog.format_type under an empty search_path)", s)
		}
		tn.Names = []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode(name)}
	}
	for _, m := range tn.Typmods {
		if c := m.GetAConst(); c == nil || c.GetIval() == nil {
			return "", bad
		}
	}
	out, err := pg_query.Deparse(tree)
	if err != nil || !strings.HasPrefix(out, prefix) {
		return "", bad
	}
	return strings.TrimPrefix(out, prefix), nil
}

// catalogTypes are pg_catalog types that format_type prints without a schema and
// that have no SQL keyword syntax (those with one, like interval or time, parse as
// pg_catalog types already).
var catalogTypes = set(
	"inet", "cidr", "macaddr", "macaddr8", "money", "xml", "point", "line", "lseg", "box",
	"path", "polygon", "circle", "tsvector", "tsquery", "jsonpath", "pg_lsn", "oid",
	"int4range", "int8range", "numrange", "daterange", "tsrange", "tstzrange",
	"int4multirange", "int8multirange", "nummultirange", "datemultirange", "tsmultirange",
	"tstzmultirange", "txid_snapshot", "pg_snapshot", "char",
)

// onlyTargets reports whether a SELECT has nothing but its target list.
func onlyTargets(s *pg_query.SelectStmt) bool {
	return len(s.DistinctClause) == 0 && s.IntoClause == nil && len(s.FromClause) == 0 &&
		s.WhereClause == nil && len(s.GroupClause) == 0 && s.HavingClause == nil &&
		len(s.WindowClause) == 0 && len(s.ValuesLists) == 0 && len(s.SortClause) == 0 &&
		s.LimitOffset == nil && s.LimitCount == nil && len(s.LockingClause) == 0 &&
		s.WithClause == nil && s.Op == pg_query.SetOperation_SETOP_NONE && s.Larg == nil && s.Rarg == nil
}
