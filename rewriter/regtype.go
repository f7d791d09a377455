package rewriter

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
)

// Types given as values. Every relation has a row type of its own name and an array
// type (normally "_name"), so 'clinic.secrets'::regtype, to_regtype('clinic.secrets')
// and format_type(<OID>, NULL) tell a hidden relation from a missing one and print its
// name, as 'clinic.secrets'::regclass would. A type written as a constant, by name or
// by OID, must therefore exist and must not be the row type of a relation the role
// may not see, nor an array of one; otherwise it gets one denial, worded only from
// what the client wrote. Columns and parameters are allowed as for relation names
// (checkRelationName): catalog queries pass pg_attribute.atttypid and pg_type.oid, and
// the filtered catalogs (visibility.go) hold only visible types.

// typeArgs lists built-ins that take a type by name or OID and print it, resolve it,
// or read a value of it (which tells how many columns a row type has), with the
// position of that argument; a negative position counts from the end.
var typeArgs = map[string]int{
	"regtype":    0, // regtype('x'), a cast written as a call
	"to_regtype": 0, "to_regtypemod": 0, "regtypein": 0, "regtypeout": 0,
	"format_type": 0, "pg_type_is_visible": 0, "has_type_privilege": -2,
	"pg_input_is_valid": 1, "pg_input_error_info": 1,
	"record_in": 1, "record_recv": 1, "array_in": 1, "array_recv": 1,
	"domain_in": 1, "domain_recv": 1, "enum_in": 1, "enum_recv": 1,
	"range_in": 1, "range_recv": 1, "multirange_in": 1, "multirange_recv": 1,
}

// checkTypeArgs applies typeArgs.
func (rw *rewrite) checkTypeArgs(name string, args []*pg_query.Node) *Denial {
	pos, ok := typeArgs[name]
	if !ok {
		return nil
	}
	if pos < 0 {
		pos += len(args)
	}
	if pos < 0 || pos >= len(args) {
		return nil
	}
	return rw.checkTypeArg(args[pos])
}

// checkTypeArg checks an expression that PostgreSQL reads as a type's name or OID, the
// way checkRelationName checks a relation's: a constant is resolved, a column or a
// parameter is allowed, a cast is looked through, and an expression with a constant in
// it is refused.
func (rw *rewrite) checkTypeArg(arg *pg_query.Node) *Denial {
	if arg.GetColumnRef() != nil || arg.GetParamRef() != nil {
		return nil
	}
	if tc := arg.GetTypeCast(); tc != nil {
		if regCast(tc.GetTypeName()) == "regtype" {
			return nil // the walk checks the cast itself
		}
		return rw.checkTypeArg(tc.Arg) // 'x'::text, '16388'::oid: the value inside
	}
	c := arg.GetAConst()
	if c == nil {
		if hasConstant(arg.ProtoReflect()) {
			return unsupported("a type name or OID computed from a constant (write it as a literal)", rw.role.name)
		}
		return nil // computed from columns, as catalog queries do
	}
	text, ok := rw.constantText(c)
	if !ok {
		return nil
	}
	if oid, ok := parseOID(text); ok {
		return rw.checkTypeOID(oid, text)
	}
	if tn := parseTypeName(text); tn != nil && !rw.typeNameAvailable(tn) {
		return typeNotAvailable(text, rw.role.name)
	}
	return nil // not a type name: PostgreSQL refuses it ("invalid type name") whatever exists
}

// firstNormalObjectID is the first OID PostgreSQL gives to objects created after
// initdb (FirstNormalObjectId in transam.h); the OID counter never goes below it
// again, so every user relation and row type has an OID at least this high.
const firstNormalObjectID = 16384

// checkTypeOID checks a type given by its OID. An OID the snapshot does not hold is a
// built-in type (or none at all) below firstNormalObjectID; at or above it, it may be
// the row type of a relation created since the snapshot was taken, so it is refused
// like a hidden one.
func (rw *rewrite) checkTypeOID(oid uint32, written string) *Denial {
	if oid == 0 {
		return nil // prints "-"
	}
	t := rw.cat.typeByOID(oid)
	if t == nil && oid < firstNormalObjectID || t != nil && !rw.typeHidden(t) {
		return nil
	}
	return typeNotAvailable(written, rw.role.name)
}

// parseTypeName parses text as regtypein does (parseTypeString reads it with the
// grammar's Typename rule), using PostgreSQL's own parser: SELECT NULL::<text> must
// come back as nothing but that one cast. It returns nil when text is not a type name,
// which PostgreSQL refuses too.
func parseTypeName(text string) *pg_query.TypeName {
	tree, err := pg_query.Parse("SELECT NULL::" + text)
	if err != nil || len(tree.Stmts) != 1 {
		return nil
	}
	sel := tree.Stmts[0].GetStmt().GetSelectStmt()
	if sel == nil || len(sel.TargetList) != 1 {
		return nil
	}
	bare := &pg_query.SelectStmt{TargetList: sel.TargetList,
		LimitOption: pg_query.LimitOption_LIMIT_OPTION_DEFAULT, Op: pg_query.SetOperation_SETOP_NONE}
	rt := sel.TargetList[0].GetResTarget()
	tc := rt.GetVal().GetTypeCast()
	if !proto.Equal(sel, bare) || rt.Name != "" || len(rt.Indirection) > 0 || !tc.GetArg().GetAConst().GetIsnull() {
		return nil
	}
	return tc.TypeName
}

// typeNameAvailable reports whether the type a name resolves to exists and may be
// shown to the role. It resolves like LookupTypeName: a qualified name in its schema,
// an unqualified one along the search_path, where pg_catalog (first unless listed
// elsewhere) holds the built-in types. Array bounds and type modifiers do not change
// whose type it is: 'clinic.secrets[]' is the array of clinic.secrets.
func (rw *rewrite) typeNameAvailable(tn *pg_query.TypeName) bool {
	parts, ok := nameParts(tn.Names)
	if !ok {
		return false
	}
	if len(parts) == 3 {
		parts = parts[1:] // the database: PostgreSQL refuses any but the current one
	}
	switch {
	case len(parts) == 1:
		return rw.unqualifiedTypeAvailable(parts[0])
	case len(parts) == 2 && parts[0] == "pg_catalog":
		return true // no relation of pg_catalog is hidden
	case len(parts) == 2:
		t := rw.cat.typeOf(parts[0], parts[1])
		return t != nil && !rw.typeHidden(t)
	}
	return false
}

// unqualifiedTypeAvailable resolves an unqualified type name along the search_path. A
// name found nowhere is refused like a hidden one, so that 'secrets'::regtype cannot
// tell a hidden clinic.secrets on the path from a missing one.
func (rw *rewrite) unqualifiedTypeAvailable(name string) bool {
	if rw.path.unknownUser {
		for _, t := range rw.cat.typesNamed(name) {
			if rw.typeHidden(t) {
				return false // "$user" may be its schema
			}
		}
	}
	for _, s := range rw.path.schemas {
		if s == "pg_catalog" {
			if rw.cat.builtinType(name) {
				return true
			}
			continue
		}
		if t := rw.cat.typeOf(s, name); t != nil {
			return !rw.typeHidden(t)
		}
	}
	return false
}

// typeHidden reports whether t is the row type of a relation the role may not see, or
// an array of one.
func (rw *rewrite) typeHidden(t *Type) bool {
	if e := rw.cat.elementOf(t); e != nil {
		t = e
	}
	if t.Relation == 0 {
		return false
	}
	r := rw.cat.RelationByOID(t.Relation)
	return r == nil || !rw.visibility().relation(r)
}

// builtinType reports whether pg_catalog has a type of that name: a built-in one, or
// the row type of one of its relations or the array of that.
func (c *Catalog) builtinType(name string) bool {
	if builtinTypes[name] {
		return true
	}
	r := c.Relation("pg_catalog", strings.TrimPrefix(name, "_"))
	return r != nil && hasRowType(r.Kind)
}

// hasRowType reports whether relations of the kind have a row type.
func hasRowType(kind string) bool {
	switch kind {
	case KindTable, KindPartitionedTable, KindView, KindMaterializedView, KindForeignTable, KindComposite:
		return true
	}
	return false
}

// builtinTypes are the types of pg_catalog other than the row types of its relations
// (which the snapshot lists as relations) and their arrays: SELECT typname FROM pg_type
// WHERE typnamespace = 'pg_catalog'::regnamespace AND typrelid = 0, leaving out the
// arrays of row types, which is the same list in PostgreSQL 15 and 16 (pg_type_d.h). A
// newer built-in written unqualified is refused until it is added here: a name that is
// not known to be in pg_catalog is looked up along the rest of the search_path.
var builtinTypes = func() map[string]bool {
	withArray := strings.Fields(`aclitem bit bool box bpchar bytea char cid cidr circle
		cstring date datemultirange daterange float4 float8 gtsvector inet int2 int2vector
		int4 int4multirange int4range int8 int8multirange int8range interval json jsonb
		jsonpath line lseg macaddr macaddr8 money name numeric nummultirange numrange oid
		oidvector path pg_lsn pg_snapshot point polygon record refcursor regclass
		regcollation regconfig regdictionary regnamespace regoper regoperator regproc
		regprocedure regrole regtype text tid time timestamp timestamptz timetz
		tsmultirange tsquery tsrange tstzmultirange tstzrange tsvector txid_snapshot uuid
		varbit varchar xid xid8 xml`)
	withoutArray := strings.Fields(`any anyarray anycompatible anycompatiblearray
		anycompatiblemultirange anycompatiblenonarray anycompatiblerange anyelement anyenum
		anymultirange anynonarray anyrange event_trigger fdw_handler index_am_handler
		internal language_handler pg_brin_bloom_summary pg_brin_minmax_multi_summary
		pg_ddl_command pg_dependencies pg_mcv_list pg_ndistinct pg_node_tree
		table_am_handler trigger tsm_handler unknown void`)
	m := map[string]bool{}
	for _, n := range withArray {
		m[n], m["_"+n] = true, true
	}
	for _, n := range withoutArray {
		m[n] = true
	}
	return m
}()
