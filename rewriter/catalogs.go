package rewriter

import (
	"sort"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// System catalogs (DESIGN §3, "Catalogs"). BI tools, psql's \d commands, JDBC's
// DatabaseMetaData and SQLAlchemy's inspector browse pg_catalog and information_schema,
// and must keep working; but what they list must match what the role can query, so a
// hidden column is never offered and a hidden table never named. Every system relation
// a restricted role reads is on catalogRules:
//
//   - readable as it is (schema objects that say nothing about tables and columns);
//   - replaced by a derived table over itself that keeps only the rows of relations
//     (and columns) the role can see: "visible" means a system relation, a granted
//     relation, or an index, TOAST table or sequence of a granted relation;
//   - refused, for relations holding data values (statistics), other sessions' query
//     texts, credentials or large objects.
//
// Everything not on the list is refused. The generated filters qualify every operator
// with pg_catalog, so no search_path can redirect them.

// catalogRule is how a restricted role may read one system relation.
type catalogRule struct {
	where  func(v *visibility) string // nil: readable as it is
	refuse string                     // why it is refused ("" when readable)
}

var (
	raw         = catalogRule{}
	dataValues  = catalogRule{refuse: "hold data values"}
	queryTexts  = catalogRule{refuse: "show query texts, which may contain PHI"}
	credentials = catalogRule{refuse: "hold credentials"}
)

func byRel(col string) catalogRule {
	return catalogRule{where: func(v *visibility) string { return v.relSQL(col) }}
}

func byName(schemaCol, nameCol string) catalogRule {
	return catalogRule{where: func(v *visibility) string { return v.namesSQL(schemaCol, nameCol, v.names) }}
}

func byColumn(schemaCol, tableCol, colCol string) catalogRule {
	return catalogRule{where: func(v *visibility) string { return v.columnNamesSQL(schemaCol, tableCol, colCol) }}
}

func both(a, b catalogRule) catalogRule {
	return catalogRule{where: func(v *visibility) string { return "(" + a.where(v) + ") AND (" + b.where(v) + ")" }}
}

// catalogRules lists every system relation a restricted role may read.
var catalogRules = map[string]catalogRule{
	// Schema objects other than relations: nothing to hide.
	"pg_catalog.pg_namespace": raw, "pg_catalog.pg_am": raw, "pg_catalog.pg_amop": raw,
	"pg_catalog.pg_amproc": raw, "pg_catalog.pg_opclass": raw, "pg_catalog.pg_opfamily": raw,
	"pg_catalog.pg_operator": raw, "pg_catalog.pg_proc": raw, "pg_catalog.pg_language": raw,
	"pg_catalog.pg_collation": raw, "pg_catalog.pg_conversion": raw, "pg_catalog.pg_database": raw,
	"pg_catalog.pg_tablespace": raw, "pg_catalog.pg_roles": raw, "pg_catalog.pg_user": raw,
	"pg_catalog.pg_group": raw, "pg_catalog.pg_settings": raw, "pg_catalog.pg_extension": raw,
	"pg_catalog.pg_cast": raw, "pg_catalog.pg_enum": raw, "pg_catalog.pg_range": raw,
	"pg_catalog.pg_ts_config": raw, "pg_catalog.pg_ts_config_map": raw, "pg_catalog.pg_ts_dict": raw,
	"pg_catalog.pg_ts_parser": raw, "pg_catalog.pg_ts_template": raw, "pg_catalog.pg_event_trigger": raw,
	"pg_catalog.pg_available_extensions": raw, "pg_catalog.pg_available_extension_versions": raw,
	"pg_catalog.pg_timezone_names": raw, "pg_catalog.pg_timezone_abbrevs": raw,
	"pg_catalog.pg_auth_members": raw, "pg_catalog.pg_shdescription": raw,
	"pg_catalog.pg_default_acl": raw, "pg_catalog.pg_aggregate": raw, "pg_catalog.pg_transform": raw,
	"pg_catalog.pg_foreign_data_wrapper": raw,

	// Rows about relations: only visible ones (and their visible columns).
	"pg_catalog.pg_class":     {where: func(v *visibility) string { return v.classSQL() }},
	"pg_catalog.pg_attribute": {where: func(v *visibility) string { return v.columnSQL("attrelid", "attnum", "int2", true) }},
	"pg_catalog.pg_attrdef":   {where: func(v *visibility) string { return v.columnSQL("adrelid", "adnum", "int2", false) }},
	"pg_catalog.pg_description": {where: func(v *visibility) string {
		return "classoid OPERATOR(pg_catalog.<>) 1259 OR " + v.columnSQL("objoid", "objsubid", "int4", true)
	}},
	"pg_catalog.pg_depend": {where: func(v *visibility) string {
		return "(classid OPERATOR(pg_catalog.<>) 1259 OR " + v.relSQL("objid") + ") AND (refclassid OPERATOR(pg_catalog.<>) 1259 OR " + v.relSQL("refobjid") + ")"
	}},
	"pg_catalog.pg_constraint": {where: func(v *visibility) string {
		return "(conrelid OPERATOR(pg_catalog.=) 0 OR " + v.relSQL("conrelid") + ") AND (confrelid OPERATOR(pg_catalog.=) 0 OR " + v.relSQL("confrelid") + ")"
	}},
	"pg_catalog.pg_type":              {where: func(v *visibility) string { return v.typeSQL() }},
	"pg_catalog.pg_index":             byRel("indrelid"),
	"pg_catalog.pg_trigger":           byRel("tgrelid"),
	"pg_catalog.pg_rewrite":           byRel("ev_class"),
	"pg_catalog.pg_inherits":          both(byRel("inhrelid"), byRel("inhparent")),
	"pg_catalog.pg_partitioned_table": byRel("partrelid"),
	"pg_catalog.pg_sequence":          byRel("seqrelid"),
	"pg_catalog.pg_statistic_ext":     byRel("stxrelid"),
	"pg_catalog.pg_policy":            byRel("polrelid"),
	"pg_catalog.pg_tables":            byName("schemaname", "tablename"),
	"pg_catalog.pg_views":             byName("schemaname", "viewname"),
	"pg_catalog.pg_matviews":          byName("schemaname", "matviewname"),
	"pg_catalog.pg_indexes":           byName("schemaname", "tablename"),
	"pg_catalog.pg_policies":          byName("schemaname", "tablename"),
	"pg_catalog.pg_sequences": {where: func(v *visibility) string {
		return v.namesSQL("schemaname", "sequencename", v.sequences)
	}},
	"pg_catalog.pg_stat_user_tables": byRel("relid"), "pg_catalog.pg_stat_all_tables": byRel("relid"),
	"pg_catalog.pg_statio_user_tables": byRel("relid"), "pg_catalog.pg_statio_all_tables": byRel("relid"),
	"pg_catalog.pg_stat_user_indexes": byRel("relid"), "pg_catalog.pg_stat_all_indexes": byRel("relid"),

	// Statistics hold sampled column values; activity views hold query texts.
	"pg_catalog.pg_stats": dataValues, "pg_catalog.pg_stats_ext": dataValues,
	"pg_catalog.pg_stats_ext_exprs": dataValues, "pg_catalog.pg_statistic": dataValues,
	"pg_catalog.pg_statistic_ext_data": dataValues, "pg_catalog.pg_largeobject": dataValues,
	"pg_catalog.pg_stat_activity": queryTexts, "pg_catalog.pg_prepared_statements": queryTexts,
	"pg_catalog.pg_cursors": queryTexts, "pg_catalog.pg_authid": credentials,
	"pg_catalog.pg_shadow": credentials, "pg_catalog.pg_user_mapping": credentials,
	"pg_catalog.pg_user_mappings": credentials,

	"information_schema.tables":                  byName("table_schema", "table_name"),
	"information_schema.views":                   byName("table_schema", "table_name"),
	"information_schema.table_constraints":       byName("table_schema", "table_name"),
	"information_schema.constraint_table_usage":  byName("table_schema", "table_name"),
	"information_schema.table_privileges":        byName("table_schema", "table_name"),
	"information_schema.role_table_grants":       byName("table_schema", "table_name"),
	"information_schema.triggers":                byName("event_object_schema", "event_object_table"),
	"information_schema.view_table_usage":        both(byName("view_schema", "view_name"), byName("table_schema", "table_name")),
	"information_schema.columns":                 byColumn("table_schema", "table_name", "column_name"),
	"information_schema.column_privileges":       byColumn("table_schema", "table_name", "column_name"),
	"information_schema.role_column_grants":      byColumn("table_schema", "table_name", "column_name"),
	"information_schema.column_udt_usage":        byColumn("table_schema", "table_name", "column_name"),
	"information_schema.column_domain_usage":     byColumn("table_schema", "table_name", "column_name"),
	"information_schema.key_column_usage":        byColumn("table_schema", "table_name", "column_name"),
	"information_schema.constraint_column_usage": byColumn("table_schema", "table_name", "column_name"),
	"information_schema.view_column_usage":       both(byName("view_schema", "view_name"), byColumn("table_schema", "table_name", "column_name")),
	"information_schema.sequences": {where: func(v *visibility) string {
		return v.namesSQL("sequence_schema", "sequence_name", v.sequences)
	}},
	"information_schema.schemata": raw, "information_schema.routines": raw,
	"information_schema.parameters": raw, "information_schema.domains": raw,
	"information_schema.domain_constraints": raw, "information_schema.domain_udt_usage": raw,
	"information_schema.character_sets": raw, "information_schema.collations": raw,
	"information_schema.collation_character_set_applicability": raw,
	"information_schema.enabled_roles":                         raw, "information_schema.applicable_roles": raw,
	"information_schema.administrable_role_authorizations": raw,
	"information_schema.information_schema_catalog_name":   raw,
	"information_schema.sql_features":                      raw, "information_schema.sql_implementation_info": raw,
	"information_schema.sql_parts": raw, "information_schema.sql_sizing": raw,
	"information_schema.usage_privileges": raw, "information_schema.routine_privileges": raw,
	"information_schema.role_routine_grants": raw, "information_schema.udt_privileges": raw,
	"information_schema.role_udt_grants": raw, "information_schema.role_usage_grants": raw,
	"information_schema.user_defined_types": raw, "information_schema.attributes": raw,
	"information_schema.transforms": raw, "information_schema.routine_routine_usage": raw,
}

// systemRelation handles a reference to a pg_catalog or information_schema relation.
func (rw *rewrite) systemRelation(n *pg_query.Node, rv *pg_query.RangeVar, rel *Relation) *Denial {
	written := writtenName(rv.Catalogname, rv.Schemaname, rv.Relname)
	rule, ok := catalogRules[rel.Qualified()]
	switch {
	case !ok:
		return systemRelationRefused(written, rw.role.name, "are not on pgmask's catalog allowlist")
	case rule.refuse != "":
		return systemRelationRefused(written, rw.role.name, rule.refuse)
	case rule.where == nil:
		if rv.Schemaname != rel.Schema {
			rv.Schemaname = rel.Schema
			rw.changed = true
		}
		return nil
	}
	rw.replace(n, rv, &substitution{rel: rel, selectFrom: "SELECT * FROM ONLY " + rel.quotedName(), where: rule.where(rw.visibility())})
	return nil
}

// visibility is what one role may see of the catalog, worked out once per statement.
type visibility struct {
	cat       *Catalog
	system    []uint32                   // OIDs of pg_catalog and information_schema
	oids      []uint32                   // visible user relations and their indexes, TOAST, sequences
	byOID     map[uint32]bool            // the same, as a set
	columns   map[uint32][]Column        // visible columns of granted relations
	names     map[qualifiedName][]string // granted relations → visible column names
	sequences map[qualifiedName][]string // visible sequences (no columns)
	hiddenRow []uint32                   // row types of relations that are not visible
}

func (rw *rewrite) visibility() *visibility {
	if rw.vis != nil {
		return rw.vis
	}
	v := &visibility{
		cat: rw.cat, byOID: map[uint32]bool{}, columns: map[uint32][]Column{},
		names: map[qualifiedName][]string{}, sequences: map[qualifiedName][]string{},
	}
	for _, s := range []string{"pg_catalog", "information_schema"} {
		if oid := rw.cat.schemaOID(s); oid != 0 {
			v.system = append(v.system, oid)
		}
	}
	for _, t := range sortedKeys(rw.role.tables) {
		tp := rw.role.tables[t]
		rel := rw.cat.Relation(tp.name.schema, tp.name.name)
		if rel == nil {
			continue
		}
		v.byOID[rel.OID] = true
		v.columns[rel.OID] = []Column{}
		names := []string{}
		for _, c := range rel.Columns {
			if cp, ok := tp.columns[c.Name]; ok && !cp.spec.Excludes() {
				v.columns[rel.OID] = append(v.columns[rel.OID], c)
				names = append(names, c.Name)
			}
		}
		v.names[tp.name] = names
	}
	for _, r := range rw.cat.Relations() {
		if r.Owner != 0 && v.byOID[r.Owner] && !isSystemSchema(r.Schema) {
			v.byOID[r.OID] = true
			if r.Kind == KindSequence {
				v.sequences[qualifiedName{r.Schema, r.Name}] = nil
			}
		}
	}
	for oid := range v.byOID {
		v.oids = append(v.oids, oid)
	}
	sort.Slice(v.oids, func(i, j int) bool { return v.oids[i] < v.oids[j] })
	for _, name := range sortedTypeKeys(rw.cat) {
		t := rw.cat.types[name]
		if t.Relation != 0 && !v.byOID[t.Relation] && !isSystemSchema(t.Schema) {
			v.hiddenRow = append(v.hiddenRow, t.OID)
		}
	}
	rw.vis = v
	return v
}

// relation reports whether the role may see that a relation exists.
func (v *visibility) relation(r *Relation) bool { return isSystemSchema(r.Schema) || v.byOID[r.OID] }

// relSQL: the relation whose OID is in col is visible.
func (v *visibility) relSQL(col string) string {
	return "(" + col + " OPERATOR(pg_catalog.=) ANY (" + oidArray(v.oids) + ") OR " + col +
		" OPERATOR(pg_catalog.=) ANY (SELECT pgmask_c.oid FROM pg_catalog.pg_class pgmask_c WHERE pgmask_c.relnamespace OPERATOR(pg_catalog.=) ANY (" +
		oidArray(v.system) + ")))"
}

func (v *visibility) classSQL() string {
	return "relnamespace OPERATOR(pg_catalog.=) ANY (" + oidArray(v.system) + ") OR oid OPERATOR(pg_catalog.=) ANY (" + oidArray(v.oids) + ")"
}

// columnSQL: the column (relCol, numCol) is visible. System relations show every
// column; granted relations their visible ones (with system columns, attnum < 0, and
// the relation itself, number 0, when withOthers); owned objects (indexes, TOAST,
// sequences) none.
func (v *visibility) columnSQL(relCol, numCol, numType string, withOthers bool) string {
	var b strings.Builder
	b.WriteString(relCol + " OPERATOR(pg_catalog.=) ANY (SELECT pgmask_c.oid FROM pg_catalog.pg_class pgmask_c WHERE pgmask_c.relnamespace OPERATOR(pg_catalog.=) ANY (" + oidArray(v.system) + "))")
	for _, oid := range v.oids {
		cols, granted := v.columns[oid]
		if !granted {
			continue
		}
		nums := make([]string, 0, len(cols))
		for _, c := range cols {
			nums = append(nums, strconv.Itoa(int(c.Num)))
		}
		cond := numCol + " OPERATOR(pg_catalog.=) ANY ('{" + strings.Join(nums, ",") + "}'::pg_catalog." + numType + "[])"
		if withOthers {
			cond = "(" + numCol + " OPERATOR(pg_catalog.<=) 0 OR " + cond + ")"
		}
		b.WriteString(" OR (" + relCol + " OPERATOR(pg_catalog.=) " + strconv.FormatUint(uint64(oid), 10) + " AND " + cond + ")")
	}
	return b.String()
}

// namesSQL: (schemaCol, nameCol) names a system relation or one in set.
func (v *visibility) namesSQL(schemaCol, nameCol string, set map[qualifiedName][]string) string {
	var b strings.Builder
	b.WriteString(schemaCol + " OPERATOR(pg_catalog.=) ANY ('{pg_catalog,information_schema}'::pg_catalog.name[])")
	for _, q := range sortedNames(set) {
		b.WriteString(" OR (" + schemaCol + " OPERATOR(pg_catalog.=) " + nameLit(q.schema) + " AND " + nameCol + " OPERATOR(pg_catalog.=) " + nameLit(q.name) + ")")
	}
	return b.String()
}

// columnNamesSQL: (schemaCol, tableCol, colCol) names a visible column.
func (v *visibility) columnNamesSQL(schemaCol, tableCol, colCol string) string {
	var b strings.Builder
	b.WriteString(schemaCol + " OPERATOR(pg_catalog.=) ANY ('{pg_catalog,information_schema}'::pg_catalog.name[])")
	for _, q := range sortedNames(v.names) {
		b.WriteString(" OR (" + schemaCol + " OPERATOR(pg_catalog.=) " + nameLit(q.schema) + " AND " + tableCol +
			" OPERATOR(pg_catalog.=) " + nameLit(q.name) + " AND " + colCol + " OPERATOR(pg_catalog.=) ANY (" + nameArray(v.names[q]) + "))")
	}
	return b.String()
}

// typeSQL: a type is visible unless it is the row type of a hidden relation or an
// array of one.
func (v *visibility) typeSQL() string {
	s := "(typrelid OPERATOR(pg_catalog.=) 0 OR " + v.relSQL("typrelid") + ")"
	if len(v.hiddenRow) > 0 {
		s += " AND NOT typelem OPERATOR(pg_catalog.=) ANY (" + oidArray(v.hiddenRow) + ")"
	}
	return s
}

func oidArray(oids []uint32) string {
	parts := make([]string, len(oids))
	for i, o := range oids {
		parts[i] = strconv.FormatUint(uint64(o), 10)
	}
	return "'{" + strings.Join(parts, ",") + "}'::pg_catalog.oid[]"
}

// nameLit is a string literal of type name (standard_conforming_strings is pinned on).
func nameLit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'::pg_catalog.name" }

// nameArray is a name[] literal.
func nameArray(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(n) + `"`
	}
	return "'" + strings.ReplaceAll("{"+strings.Join(parts, ",")+"}", "'", "''") + "'::pg_catalog.name[]"
}

func sortedNames[V any](m map[qualifiedName]V) []qualifiedName {
	out := make([]qualifiedName, 0, len(m))
	for q := range m {
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func sortedTypeKeys(c *Catalog) []qualifiedName { return sortedNames(c.types) }
