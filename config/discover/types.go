package discover

import "strings"

// kind is the family of a column's SQL type, which decides which name rules and value
// patterns can apply: a name is text, a key is a number, a date of birth is a date.
type kind int

const (
	kindText      kind = iota // text, varchar, char, citext, enums and unknown types
	kindInteger               // smallint, integer, bigint
	kindNumber                // numeric, real, double precision, money
	kindBool                  // boolean
	kindDate                  // date
	kindTimestamp             // timestamp with or without time zone
	kindTime                  // time of day, without a date
	kindInterval              // interval
	kindInet                  // inet, cidr
	kindMAC                   // macaddr, macaddr8
	kindBytes                 // bytea
	kindDocument              // json, jsonb, xml
	kindTSVector              // tsvector
	kindUUID                  // uuid
	kindGeo                   // point, geometry, geography and the other geometric types
)

// sqlType is a column type as Classify sees it.
type sqlType struct {
	kind  kind
	array bool
}

// parseType reads a type as PostgreSQL's format_type prints it ("character varying(40)",
// "timestamp with time zone", "text[]", "numeric(12,2)"), possibly schema-qualified.
func parseType(s string) sqlType {
	t := strings.ToLower(strings.TrimSpace(s))
	var st sqlType
	for strings.HasSuffix(t, "[]") {
		st.array = true
		t = strings.TrimSpace(strings.TrimSuffix(t, "[]"))
	}
	if i := strings.IndexByte(t, '('); i >= 0 { // typmod: varchar(40), numeric(12,2), timestamp(3) with time zone
		if j := strings.IndexByte(t[i:], ')'); j >= 0 {
			t = strings.TrimSpace(t[:i] + t[i+j+1:])
		}
	}
	t = strings.Join(strings.Fields(t), " ")
	if i := strings.LastIndexByte(t, '.'); i >= 0 && !strings.Contains(t, `"`) {
		t = t[i+1:] // pg_catalog.text, public.citext
	}
	t = strings.Trim(t, `"`)
	switch t {
	case "smallint", "integer", "bigint", "int", "int2", "int4", "int8", "smallserial", "serial", "bigserial", "oid":
		st.kind = kindInteger
	case "numeric", "decimal", "real", "double precision", "float4", "float8", "money":
		st.kind = kindNumber
	case "boolean", "bool":
		st.kind = kindBool
	case "date":
		st.kind = kindDate
	case "timestamp", "timestamp without time zone", "timestamp with time zone", "timestamptz":
		st.kind = kindTimestamp
	case "time", "time without time zone", "time with time zone", "timetz":
		st.kind = kindTime
	case "interval":
		st.kind = kindInterval
	case "inet", "cidr":
		st.kind = kindInet
	case "macaddr", "macaddr8":
		st.kind = kindMAC
	case "bytea":
		st.kind = kindBytes
	case "json", "jsonb", "xml":
		st.kind = kindDocument
	case "tsvector":
		st.kind = kindTSVector
	case "uuid":
		st.kind = kindUUID
	case "point", "line", "lseg", "box", "path", "polygon", "circle", "geometry", "geography":
		st.kind = kindGeo
	default:
		st.kind = kindText
	}
	return st
}

// textual reports whether values of the kind are free-form strings: the only kind a
// name, an address or a note can be stored in.
func (k kind) textual() bool { return k == kindText }

// numeric reports whether the kind holds numbers.
func (k kind) numeric() bool { return k == kindInteger || k == kindNumber }

// dated reports whether the kind holds a calendar date.
func (k kind) dated() bool { return k == kindDate || k == kindTimestamp }
