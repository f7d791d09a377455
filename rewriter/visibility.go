package rewriter

import (
	"sort"
	"strconv"
	"strings"
)

// What one role may see of the catalog, and the SQL conditions that keep only that in
// the system catalogs catalogRules replaces (catalogs.go).
//
// A relation is visible when it is a system relation, a granted relation, or an
// index, TOAST table or owned sequence of a granted relation. A column is visible when
// its relation is a system relation or the role sees the column. An object attached to
// a relation (an index, a constraint, a column default, a trigger, a rule, a policy, a
// statistics object, a publication's table entry) is visible when its relation is,
// unless it involves a hidden column: its definition, as pg_get_indexdef,
// pg_get_constraintdef or pg_get_expr print it, would name that column. PostgreSQL
// records what involves a column in pg_depend (key and INCLUDE columns, expressions,
// predicates, FOREIGN KEY and CHECK columns, trigger columns and WHEN clauses, policy
// expressions, column defaults, sequences owned by a column), so "involves" is
// "depends on, directly or through other objects": a PRIMARY KEY's index depends on
// its constraint, which depends on the columns. The filters read pg_depend when the
// statement runs, so they follow the upstream's schema as it is then.

// OIDs of the catalogs whose rows pg_depend and pg_description point at
// (pg_class.oid of each catalog, fixed by PostgreSQL's bootstrap data).
const (
	classType           = 1247
	classRelation       = 1259
	classAttrdef        = 2604
	classConstraint     = 2606
	classRewrite        = 2618
	classTrigger        = 2620
	classPolicy         = 3256
	classStatisticExt   = 3381
	classPublicationRel = 6106
)

// visibility is what one role may see of the catalog, worked out once per statement.
type visibility struct {
	cat       *Catalog
	system    []uint32                   // OIDs of pg_catalog and information_schema
	oids      []uint32                   // visible user relations and their indexes, TOAST, sequences
	granted   []uint32                   // of oids, the granted relations
	owned     []uint32                   // of oids, the others: indexes, TOAST tables, sequences
	byOID     map[uint32]bool            // oids, as a set
	columns   map[uint32][]Column        // visible columns of granted relations
	names     map[qualifiedName][]string // granted relations → visible column names
	hiddenRow []uint32                   // row types of relations that are not visible
}

func (rw *rewrite) visibility() *visibility {
	if rw.vis != nil {
		return rw.vis
	}
	v := &visibility{
		cat: rw.cat, byOID: map[uint32]bool{}, columns: map[uint32][]Column{},
		names: map[qualifiedName][]string{},
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
		v.granted = append(v.granted, rel.OID)
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
			v.owned = append(v.owned, r.OID)
		}
	}
	for oid := range v.byOID {
		v.oids = append(v.oids, oid)
	}
	sortOIDs(v.oids)
	sortOIDs(v.granted)
	sortOIDs(v.owned)
	for _, name := range sortedTypeKeys(rw.cat) {
		t := rw.cat.types[name]
		if t.Relation != 0 && !v.byOID[t.Relation] && !isSystemSchema(t.Schema) {
			v.hiddenRow = append(v.hiddenRow, t.OID)
		}
	}
	rw.vis = v
	return v
}

// relation reports whether the role may see that a relation exists. An index or
// sequence that involves a hidden column counts as visible here (the snapshot does not
// record what indexes involve); the catalog filters below hide it.
func (v *visibility) relation(r *Relation) bool { return isSystemSchema(r.Schema) || v.byOID[r.OID] }

// systemClassesSQL is a subquery of the OIDs of every system relation.
func (v *visibility) systemClassesSQL() string {
	return "SELECT pgmask_c.oid FROM pg_catalog.pg_class pgmask_c WHERE pgmask_c.relnamespace OPERATOR(pg_catalog.=) ANY (" + oidArray(v.system) + ")"
}

// relSQL: the relation whose OID is in col is visible. For columns that hold tables,
// views and other relations that are not indexes or sequences (only those can involve
// a hidden column); objectSQL is for the others.
func (v *visibility) relSQL(col string) string {
	return "(" + col + " OPERATOR(pg_catalog.=) ANY (" + oidArray(v.oids) + ") OR " + col +
		" OPERATOR(pg_catalog.=) ANY (" + v.systemClassesSQL() + "))"
}

// objectSQL: the relation whose OID is in col is visible, where col may hold an index
// or sequence, which is hidden when it involves a hidden column.
func (v *visibility) objectSQL(col string) string {
	if len(v.granted) == 0 {
		return v.relSQL(col)
	}
	return "(" + col + " OPERATOR(pg_catalog.=) ANY (" + oidArray(v.granted) + ") OR " + v.ownedSQL(col) + " OR " + col +
		" OPERATOR(pg_catalog.=) ANY (" + v.systemClassesSQL() + "))"
}

// ownedSQL: col is a visible index, TOAST table or sequence of a granted relation.
func (v *visibility) ownedSQL(col string) string {
	return "(" + col + " OPERATOR(pg_catalog.=) ANY (" + oidArray(v.owned) + ")" + v.notHidden(col, classRelation) + ")"
}

// classSQL keeps the visible rows of pg_class.
func (v *visibility) classSQL() string {
	if len(v.granted) == 0 {
		return "relnamespace OPERATOR(pg_catalog.=) ANY (" + oidArray(v.system) + ") OR oid OPERATOR(pg_catalog.=) ANY (" + oidArray(v.oids) + ")"
	}
	return "relnamespace OPERATOR(pg_catalog.=) ANY (" + oidArray(v.system) + ") OR oid OPERATOR(pg_catalog.=) ANY (" + oidArray(v.granted) + ") OR " + v.ownedSQL("oid")
}

// columnSQL: the column (relCol, numCol) of a system or granted relation is visible.
// System relations show every column; granted relations their visible ones (with
// system columns, attnum < 0, and the relation itself, number 0, when withOthers).
func (v *visibility) columnSQL(relCol, numCol, numType string, withOthers bool) string {
	var b strings.Builder
	b.WriteString(relCol + " OPERATOR(pg_catalog.=) ANY (" + v.systemClassesSQL() + ")")
	for _, oid := range v.granted {
		cols := v.columns[oid]
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

// attributeSQL keeps the visible rows of pg_attribute: the visible columns of system
// and granted relations, and every column of visible indexes, TOAST tables and
// sequences (a visible index involves visible columns only).
func (v *visibility) attributeSQL() string {
	s := v.columnSQL("attrelid", "attnum", "int2", true)
	if len(v.owned) > 0 {
		s += " OR " + v.ownedSQL("attrelid")
	}
	return s
}

// attrdefSQL keeps the defaults of visible columns that involve no hidden column.
func (v *visibility) attrdefSQL() string {
	if len(v.granted) == 0 {
		return v.columnSQL("adrelid", "adnum", "int2", false)
	}
	return "(" + v.columnSQL("adrelid", "adnum", "int2", false) + ")" + v.notHidden("oid", classAttrdef)
}

// constraintSQL keeps the constraints of visible relations (both sides of a foreign
// key) that involve no hidden column, and constraints of domains.
func (v *visibility) constraintSQL() string {
	return "(conrelid OPERATOR(pg_catalog.=) 0 OR " + v.relSQL("conrelid") + ") AND (confrelid OPERATOR(pg_catalog.=) 0 OR " +
		v.relSQL("confrelid") + ")" + v.notHidden("oid", classConstraint)
}

// attachedSQL keeps the rows of a catalog of objects attached to the relation in
// relCol (triggers, rules, policies, ...) whose relation is visible and that involve no
// hidden column.
func (v *visibility) attachedSQL(relCol string, class int) string {
	return v.relSQL(relCol) + v.notHidden("oid", class)
}

// triggerSQL keeps the triggers of visible relations that involve no hidden column;
// the triggers behind a foreign key also name the relation at its other end.
func (v *visibility) triggerSQL() string {
	return "(tgconstrrelid OPERATOR(pg_catalog.=) 0 OR " + v.relSQL("tgconstrrelid") + ") AND " + v.attachedSQL("tgrelid", classTrigger)
}

// describedCatalogs are the catalogs of objects that belong to a relation and that
// comments (pg_description) can be on, with the column naming the relation.
var describedCatalogs = []struct {
	class           int
	catalog, relCol string
}{
	{classType, "pg_type", "typrelid"},
	{classConstraint, "pg_constraint", "conrelid"},
	{classRewrite, "pg_rewrite", "ev_class"},
	{classTrigger, "pg_trigger", "tgrelid"},
	{classPolicy, "pg_policy", "polrelid"},
	{classStatisticExt, "pg_statistic_ext", "stxrelid"},
}

// descriptionSQL keeps the comments on visible relations and columns, and on visible
// objects that belong to them; comments on other objects (schemas, functions, ...)
// stay. (A type or a domain constraint belongs to no relation: relCol is 0.)
func (v *visibility) descriptionSQL() string {
	classes := []string{strconv.Itoa(classRelation)}
	var b strings.Builder
	b.WriteString("((classoid OPERATOR(pg_catalog.=) " + strconv.Itoa(classRelation) + " AND (" + v.columnSQL("objoid", "objsubid", "int4", true))
	if len(v.owned) > 0 {
		b.WriteString(" OR objoid OPERATOR(pg_catalog.=) ANY (" + oidArray(v.owned) + ")")
	}
	b.WriteString("))")
	for _, d := range describedCatalogs {
		classes = append(classes, strconv.Itoa(d.class))
		rel := "pgmask_o." + d.relCol
		b.WriteString(" OR (classoid OPERATOR(pg_catalog.=) " + strconv.Itoa(d.class) + " AND objoid OPERATOR(pg_catalog.=) ANY (" +
			"SELECT pgmask_o.oid FROM pg_catalog." + d.catalog + " pgmask_o WHERE " + rel + " OPERATOR(pg_catalog.=) 0 OR " + v.relSQL(rel) + "))")
	}
	b.WriteString(" OR NOT classoid OPERATOR(pg_catalog.=) ANY ('{" + strings.Join(classes, ",") + "}'::pg_catalog.oid[]))")
	if len(v.granted) > 0 {
		b.WriteString(" AND NOT ROW(classoid, objoid) OPERATOR(pg_catalog.=) ANY (" + v.hiddenObjectsSQL("pgmask_h.classid, pgmask_h.objid", "") + ")")
	}
	return b.String()
}

// columnDefaultsSQL: (schemaCol, tableCol, colCol) names no column whose default or
// generation expression involves a hidden column. For information_schema.columns, whose
// column_default and generation_expression print that expression: such a column is
// left out of it (pg_attribute still lists it, without its default).
func (v *visibility) columnDefaultsSQL(schemaCol, tableCol, colCol string) string {
	if len(v.granted) == 0 {
		return "true"
	}
	return "NOT ROW(" + schemaCol + ", " + tableCol + ", " + colCol + ") OPERATOR(pg_catalog.=) ANY (" +
		"SELECT pgmask_n.nspname, pgmask_r.relname, pgmask_a.attname FROM pg_catalog.pg_attrdef pgmask_ad" +
		" JOIN pg_catalog.pg_attribute pgmask_a ON pgmask_a.attrelid OPERATOR(pg_catalog.=) pgmask_ad.adrelid AND pgmask_a.attnum OPERATOR(pg_catalog.=) pgmask_ad.adnum" +
		" JOIN pg_catalog.pg_class pgmask_r ON pgmask_r.oid OPERATOR(pg_catalog.=) pgmask_ad.adrelid" +
		" JOIN pg_catalog.pg_namespace pgmask_n ON pgmask_n.oid OPERATOR(pg_catalog.=) pgmask_r.relnamespace" +
		" WHERE pgmask_ad.oid OPERATOR(pg_catalog.=) ANY (" + v.hiddenObjectsSQL("pgmask_h.objid", "pgmask_h.classid OPERATOR(pg_catalog.=) "+strconv.Itoa(classAttrdef)) + "))"
}

// dependSQL keeps the dependencies between visible objects.
func (v *visibility) dependSQL() string {
	s := "(classid OPERATOR(pg_catalog.<>) " + strconv.Itoa(classRelation) + " OR " + v.relSQL("objid") +
		") AND (refclassid OPERATOR(pg_catalog.<>) " + strconv.Itoa(classRelation) + " OR " + v.relSQL("refobjid") + ")"
	if len(v.granted) == 0 {
		return s
	}
	// What depends on a hidden object is hidden too, so the last condition also
	// removes the rows that point at hidden objects.
	return s + " AND NOT (refclassid OPERATOR(pg_catalog.=) " + strconv.Itoa(classRelation) + " AND (" + v.hiddenColumnSQL("refobjid", "refobjsubid") +
		")) AND NOT ROW(classid, objid) OPERATOR(pg_catalog.=) ANY (" + v.hiddenObjectsSQL("pgmask_h.classid, pgmask_h.objid", "") + ")"
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

// policiesViewSQL keeps the rows of pg_policies about visible policies.
func (v *visibility) policiesViewSQL() string {
	return "ROW(schemaname, tablename, policyname) OPERATOR(pg_catalog.=) ANY (SELECT pgmask_n.nspname, pgmask_r.relname, pgmask_p.polname FROM (" +
		"SELECT * FROM ONLY pg_catalog.pg_policy WHERE " + v.attachedSQL("polrelid", classPolicy) + ") pgmask_p" +
		" JOIN pg_catalog.pg_class pgmask_r ON pgmask_r.oid OPERATOR(pg_catalog.=) pgmask_p.polrelid" +
		" JOIN pg_catalog.pg_namespace pgmask_n ON pgmask_n.oid OPERATOR(pg_catalog.=) pgmask_r.relnamespace)"
}

// triggersViewSQL keeps the rows of information_schema.triggers about visible triggers.
func (v *visibility) triggersViewSQL() string {
	return "ROW(event_object_schema, event_object_table, trigger_name) OPERATOR(pg_catalog.=) ANY (SELECT pgmask_n.nspname, pgmask_r.relname, pgmask_t.tgname FROM (" +
		"SELECT * FROM ONLY pg_catalog.pg_trigger WHERE " + v.triggerSQL() + ") pgmask_t" +
		" JOIN pg_catalog.pg_class pgmask_r ON pgmask_r.oid OPERATOR(pg_catalog.=) pgmask_t.tgrelid" +
		" JOIN pg_catalog.pg_namespace pgmask_n ON pgmask_n.oid OPERATOR(pg_catalog.=) pgmask_r.relnamespace)"
}

// relNamesSQL: (schemaCol, nameCol) names a visible relation.
func (v *visibility) relNamesSQL(schemaCol, nameCol string) string {
	return "ROW(" + schemaCol + ", " + nameCol + ") OPERATOR(pg_catalog.=) ANY (SELECT pgmask_n.nspname, pgmask_r.relname FROM (" +
		"SELECT * FROM ONLY pg_catalog.pg_class WHERE " + v.classSQL() + ") pgmask_r" +
		" JOIN pg_catalog.pg_namespace pgmask_n ON pgmask_n.oid OPERATOR(pg_catalog.=) pgmask_r.relnamespace)"
}

// constraintNamesSQL: (schemaCol, nameCol) names a visible constraint. (The NOT NULL
// pseudo-constraints information_schema.table_constraints lists are not in
// pg_constraint, so they are left out: their names carry column numbers.)
func (v *visibility) constraintNamesSQL(schemaCol, nameCol string) string {
	return "ROW(" + schemaCol + ", " + nameCol + ") OPERATOR(pg_catalog.=) ANY (SELECT pgmask_n.nspname, pgmask_k.conname FROM (" +
		"SELECT * FROM ONLY pg_catalog.pg_constraint WHERE " + v.constraintSQL() + ") pgmask_k" +
		" JOIN pg_catalog.pg_namespace pgmask_n ON pgmask_n.oid OPERATOR(pg_catalog.=) pgmask_k.connamespace)"
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

// hiddenColumnSQL: (relCol, numCol) is a column of a granted relation that the role
// does not see. It names the visible columns rather than the hidden ones, so a column
// added upstream since the catalog snapshot counts as hidden. Only called when some
// relation is granted.
func (v *visibility) hiddenColumnSQL(relCol, numCol string) string {
	parts := make([]string, len(v.granted))
	for i, oid := range v.granted {
		nums := make([]string, len(v.columns[oid]))
		for j, c := range v.columns[oid] {
			nums[j] = strconv.Itoa(int(c.Num))
		}
		parts[i] = "(" + relCol + " OPERATOR(pg_catalog.=) " + strconv.FormatUint(uint64(oid), 10) + " AND " + numCol +
			" OPERATOR(pg_catalog.>) 0 AND NOT " + numCol + " OPERATOR(pg_catalog.=) ANY ('{" + strings.Join(nums, ",") + "}'::pg_catalog.int4[]))"
	}
	return strings.Join(parts, " OR ")
}

// hiddenObjectsSQL is a query of the objects (pg_depend's classid, objid) that depend
// on a hidden column, directly or through other objects, selecting cols, restricted
// to one catalog when where is not "". A relation's dependency on its own column (a
// partition key) does not hide the relation.
func (v *visibility) hiddenObjectsSQL(cols, where string) string {
	s := "WITH RECURSIVE pgmask_h(classid, objid) AS (" +
		"SELECT pgmask_d.classid, pgmask_d.objid FROM pg_catalog.pg_depend pgmask_d WHERE pgmask_d.refclassid OPERATOR(pg_catalog.=) " +
		strconv.Itoa(classRelation) + " AND (" + v.hiddenColumnSQL("pgmask_d.refobjid", "pgmask_d.refobjsubid") + ")" +
		" AND pgmask_d.objid OPERATOR(pg_catalog.<>) pgmask_d.refobjid" +
		" UNION SELECT pgmask_d.classid, pgmask_d.objid FROM pg_catalog.pg_depend pgmask_d JOIN pgmask_h" +
		" ON pgmask_d.refclassid OPERATOR(pg_catalog.=) pgmask_h.classid AND pgmask_d.refobjid OPERATOR(pg_catalog.=) pgmask_h.objid)" +
		" SELECT " + cols + " FROM pgmask_h"
	if where != "" {
		s += " WHERE " + where
	}
	return s
}

// notHidden is " AND NOT <col is an object of the catalog class that involves a
// hidden column>", or "" when no relation is granted.
func (v *visibility) notHidden(col string, class int) string {
	if len(v.granted) == 0 {
		return ""
	}
	return " AND NOT " + col + " OPERATOR(pg_catalog.=) ANY (" +
		v.hiddenObjectsSQL("pgmask_h.objid", "pgmask_h.classid OPERATOR(pg_catalog.=) "+strconv.Itoa(class)) + ")"
}

func oidArray(oids []uint32) string {
	parts := make([]string, len(oids))
	for i, o := range oids {
		parts[i] = strconv.FormatUint(uint64(o), 10)
	}
	return "'{" + strings.Join(parts, ",") + "}'::pg_catalog.oid[]"
}

func sortOIDs(oids []uint32) { sort.Slice(oids, func(i, j int) bool { return oids[i] < oids[j] }) }

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
