package rewriter

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// System catalogs (DESIGN §3, "Catalogs"). BI tools, psql's \d commands, JDBC's
// DatabaseMetaData and SQLAlchemy's inspector browse pg_catalog and information_schema,
// and must keep working; but what they list must match what the role can query, so a
// hidden column is never offered and a hidden table never named. Every system relation
// a restricted role reads is on catalogRules:
//
//   - readable as it is (schema objects that say nothing about tables and columns);
//   - replaced by a derived table over itself that keeps only the rows the role may
//     see (visibility.go): rows of system relations, of granted relations and their
//     visible columns, and of the objects attached to them (indexes, constraints,
//     defaults, triggers, rules, policies, statistics objects, TOAST tables and owned
//     sequences) unless such an object involves a hidden column, since its
//     definition (pg_get_indexdef, pg_get_constraintdef, pg_get_expr) would name it;
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

func rule(where func(v *visibility) string) catalogRule { return catalogRule{where: where} }

func byRel(col string) catalogRule {
	return rule(func(v *visibility) string { return v.relSQL(col) })
}

// byObject is byRel for a column that may hold an index or sequence.
func byObject(col string) catalogRule {
	return rule(func(v *visibility) string { return v.objectSQL(col) })
}

func byName(schemaCol, nameCol string) catalogRule {
	return rule(func(v *visibility) string { return v.namesSQL(schemaCol, nameCol, v.names) })
}

func byColumn(schemaCol, tableCol, colCol string) catalogRule {
	return rule(func(v *visibility) string { return v.columnNamesSQL(schemaCol, tableCol, colCol) })
}

// byRelName: (schemaCol, nameCol) names a visible relation (a table, or an index or
// sequence that involves no hidden column).
func byRelName(schemaCol, nameCol string) catalogRule {
	return rule(func(v *visibility) string { return v.relNamesSQL(schemaCol, nameCol) })
}

// byConstraintName: (schemaCol, nameCol) names a visible constraint.
func byConstraintName(schemaCol, nameCol string) catalogRule {
	return rule(func(v *visibility) string { return v.constraintNamesSQL(schemaCol, nameCol) })
}

// byColumnDefault: (schemaCol, tableCol, colCol) names no column whose default
// involves a hidden column.
func byColumnDefault(schemaCol, tableCol, colCol string) catalogRule {
	return rule(func(v *visibility) string { return v.columnDefaultsSQL(schemaCol, tableCol, colCol) })
}

func both(a, b catalogRule) catalogRule {
	return rule(func(v *visibility) string { return "(" + a.where(v) + ") AND (" + b.where(v) + ")" })
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
	"pg_catalog.pg_foreign_data_wrapper": raw, "pg_catalog.pg_foreign_server": raw,
	// Publications by name and by schema (psql's \d lists the ones a table is in).
	"pg_catalog.pg_publication": raw, "pg_catalog.pg_publication_namespace": raw,

	// Rows about relations: only visible ones (and their visible columns).
	"pg_catalog.pg_class":             rule((*visibility).classSQL),
	"pg_catalog.pg_attribute":         rule((*visibility).attributeSQL),
	"pg_catalog.pg_attrdef":           rule((*visibility).attrdefSQL),
	"pg_catalog.pg_description":       rule((*visibility).descriptionSQL),
	"pg_catalog.pg_depend":            rule((*visibility).dependSQL),
	"pg_catalog.pg_constraint":        rule((*visibility).constraintSQL),
	"pg_catalog.pg_type":              rule((*visibility).typeSQL),
	"pg_catalog.pg_index":             both(byRel("indrelid"), byObject("indexrelid")),
	"pg_catalog.pg_trigger":           rule((*visibility).triggerSQL),
	"pg_catalog.pg_rewrite":           rule(func(v *visibility) string { return v.attachedSQL("ev_class", classRewrite) }),
	"pg_catalog.pg_policy":            rule(func(v *visibility) string { return v.attachedSQL("polrelid", classPolicy) }),
	"pg_catalog.pg_statistic_ext":     rule(func(v *visibility) string { return v.attachedSQL("stxrelid", classStatisticExt) }),
	"pg_catalog.pg_publication_rel":   rule(func(v *visibility) string { return v.attachedSQL("prrelid", classPublicationRel) }),
	"pg_catalog.pg_inherits":          both(byObject("inhrelid"), byObject("inhparent")),
	"pg_catalog.pg_partitioned_table": byRel("partrelid"),
	"pg_catalog.pg_sequence":          byObject("seqrelid"),
	"pg_catalog.pg_foreign_table":     byRel("ftrelid"),
	"pg_catalog.pg_tables":            byName("schemaname", "tablename"),
	"pg_catalog.pg_views":             byName("schemaname", "viewname"),
	"pg_catalog.pg_matviews":          byName("schemaname", "matviewname"),
	"pg_catalog.pg_indexes":           both(byName("schemaname", "tablename"), byRelName("schemaname", "indexname")),
	"pg_catalog.pg_policies":          rule((*visibility).policiesViewSQL),
	"pg_catalog.pg_sequences":         byRelName("schemaname", "sequencename"),
	"pg_catalog.pg_stat_user_tables":  byRel("relid"), "pg_catalog.pg_stat_all_tables": byRel("relid"),
	"pg_catalog.pg_statio_user_tables": byRel("relid"), "pg_catalog.pg_statio_all_tables": byRel("relid"),
	"pg_catalog.pg_stat_user_indexes": both(byRel("relid"), byObject("indexrelid")),
	"pg_catalog.pg_stat_all_indexes":  both(byRel("relid"), byObject("indexrelid")),

	// Statistics hold sampled column values; activity views hold query texts.
	"pg_catalog.pg_stats": dataValues, "pg_catalog.pg_stats_ext": dataValues,
	"pg_catalog.pg_stats_ext_exprs": dataValues, "pg_catalog.pg_statistic": dataValues,
	"pg_catalog.pg_statistic_ext_data": dataValues, "pg_catalog.pg_largeobject": dataValues,
	"pg_catalog.pg_stat_activity": queryTexts, "pg_catalog.pg_prepared_statements": queryTexts,
	"pg_catalog.pg_cursors": queryTexts, "pg_catalog.pg_authid": credentials,
	"pg_catalog.pg_shadow": credentials, "pg_catalog.pg_user_mapping": credentials,
	"pg_catalog.pg_user_mappings": credentials, "pg_catalog.pg_subscription": credentials,

	"information_schema.tables":                  byName("table_schema", "table_name"),
	"information_schema.views":                   byName("table_schema", "table_name"),
	"information_schema.table_constraints":       both(byName("table_schema", "table_name"), byConstraintName("constraint_schema", "constraint_name")),
	"information_schema.constraint_table_usage":  both(byName("table_schema", "table_name"), byConstraintName("constraint_schema", "constraint_name")),
	"information_schema.table_privileges":        byName("table_schema", "table_name"),
	"information_schema.role_table_grants":       byName("table_schema", "table_name"),
	"information_schema.triggers":                rule((*visibility).triggersViewSQL),
	"information_schema.view_table_usage":        both(byName("view_schema", "view_name"), byName("table_schema", "table_name")),
	"information_schema.columns":                 both(byColumn("table_schema", "table_name", "column_name"), byColumnDefault("table_schema", "table_name", "column_name")),
	"information_schema.column_privileges":       byColumn("table_schema", "table_name", "column_name"),
	"information_schema.role_column_grants":      byColumn("table_schema", "table_name", "column_name"),
	"information_schema.column_udt_usage":        byColumn("table_schema", "table_name", "column_name"),
	"information_schema.column_domain_usage":     byColumn("table_schema", "table_name", "column_name"),
	"information_schema.key_column_usage":        both(byColumn("table_schema", "table_name", "column_name"), byConstraintName("constraint_schema", "constraint_name")),
	"information_schema.constraint_column_usage": both(byColumn("table_schema", "table_name", "column_name"), byConstraintName("constraint_schema", "constraint_name")),
	"information_schema.view_column_usage":       both(byName("view_schema", "view_name"), byColumn("table_schema", "table_name", "column_name")),
	"information_schema.sequences":               byRelName("sequence_schema", "sequence_name"),
	"information_schema.schemata":                raw, "information_schema.routines": raw,
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

// catalogFunctions are the functions outside pg_catalog that catalog queries call:
// information_schema's SQL helpers, which pgjdbc (getPrimaryKeys, getIndexInfo) and
// other drivers use. They compute from their arguments or read pg_index by OID; they
// read no table data.
var catalogFunctions = map[string]bool{
	"information_schema._pg_expandarray": true, "information_schema._pg_index_position": true,
	"information_schema._pg_truetypid": true, "information_schema._pg_truetypmod": true,
	"information_schema._pg_char_max_length": true, "information_schema._pg_char_octet_length": true,
	"information_schema._pg_numeric_precision": true, "information_schema._pg_numeric_precision_radix": true,
	"information_schema._pg_numeric_scale": true, "information_schema._pg_datetime_precision": true,
	"information_schema._pg_interval_type": true,
}

// catalogFunction reports whether schema.name is one of catalogFunctions.
func catalogFunction(schema, name string) bool { return catalogFunctions[schema+"."+name] }

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
