package config

import (
	"slices"
	"strings"
)

// Validation of the policy sections: [tables] (classification) and [roles] (who sees
// what). Only what can be decided from the file is checked here; the rewriter checks
// the rest against the live catalog when it compiles the policy (column types, row
// filters that must parse, functions that must exist).

// ReservedSchema is the schema pgmask keeps its own tables in (the re-identification
// code mapping); it can never be granted.
const ReservedSchema = "pgmask"

// splitName splits a "schema.table" (n = 2) or "schema.table.column" (n = 3) name.
// Names are catalog names exactly as PostgreSQL stores them (case-sensitive, no
// quotes), so a part may not contain a dot.
func splitName(s string, n int) ([]string, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != n {
		return nil, false
	}
	for _, p := range parts {
		if !isCatalogName(p) {
			return nil, false
		}
	}
	return parts, true
}

func isCatalogName(s string) bool {
	return s != "" && strings.TrimSpace(s) == s && !strings.ContainsAny(s, ".\x00")
}

func (v *validator) tables() {
	for _, name := range sortedKeys(v.c.Tables) {
		t := v.c.Tables[name]
		if _, ok := splitName(name, 2); !ok {
			v.errorf(key("tables", name), `table name %q must be "schema.table"`, name)
		}
		if len(t.Columns) == 0 {
			v.errorf(key("tables", name, "columns"), "no column is classified (unclassified columns are never shown, so the table would be empty)")
		}
		for _, col := range sortedKeys(t.Columns) {
			cat := t.Columns[col]
			switch {
			case !isCatalogName(col):
				v.errorf(key("tables", name, "columns", col), "column name %q must not be empty or contain a dot", col)
			case !IsCategory(cat):
				v.errorf(key("tables", name, "columns", col), "%s", unknown("category", cat, Categories))
			}
		}
		if _, ok := t.Columns[t.SubjectKey]; t.SubjectKey != "" && !ok {
			v.errorf(key("tables", name, "subject_key"), "%q is not a classified column of %s", t.SubjectKey, name)
		}
	}
}

func (v *validator) roles() {
	for _, name := range sortedKeys(v.c.Roles) {
		r := v.c.Roles[name]
		v.role(name, &r)
		v.c.Roles[name] = r
	}
}

func (v *validator) role(name string, r *Role) {
	at := func(k ...string) []string { return append([]string{"roles", name}, k...) }
	if !roleName.MatchString(name) {
		v.errorf(at(), "role name %q must start with a letter or _, contain only letters, digits, _ and -, and be at most 63 characters", name)
	}
	switch {
	case r.Profile == "":
		v.errorf(at("profile"), "required (want one of %s)", strings.Join(Profiles, ", "))
	case !IsProfile(r.Profile):
		v.errorf(at("profile"), "%s", unknown("profile", r.Profile, Profiles))
	}

	granted := map[string]bool{}
	for i, t := range r.Tables {
		switch _, classified := v.c.Tables[t]; {
		case strings.HasPrefix(t, ReservedSchema+"."):
			v.errorf(at("tables", elem(i)), "table %q is in pgmask's own schema %q, which no role may read", t, ReservedSchema)
		case !classified:
			if _, ok := splitName(t, 2); !ok {
				v.errorf(at("tables", elem(i)), `table %q must be "schema.table"`, t)
			} else {
				v.errorf(at("tables", elem(i)), "table %q is not classified: add a [tables.%q] section", t, t)
			}
		case granted[t]:
			v.errorf(at("tables", elem(i)), "table %q is listed twice", t)
		default:
			granted[t] = true
		}
	}

	for _, cat := range sortedKeys(r.Transforms) {
		if !IsCategory(cat) {
			v.errorf(at("transforms", cat), "%s", unknown("category", cat, Categories))
		}
		v.transform(at("transforms", cat), r.Transforms[cat])
	}

	for _, col := range sortedKeys(r.Columns) {
		v.columnOverride(name, at("columns", col), col, granted)
		v.transform(at("columns", col), r.Columns[col])
	}

	for _, t := range sortedKeys(r.Rows) {
		if !granted[t] {
			v.errorf(at("rows", t), "table %q is not in roles.%s.tables", t, name)
		}
		if strings.TrimSpace(r.Rows[t]) == "" {
			v.errorf(at("rows", t), "the row filter is empty: write a SQL boolean expression, or remove the key")
		}
	}

	for i, f := range r.Functions {
		if _, ok := splitName(f, 2); !ok {
			v.errorf(at("functions", elem(i)), `function %q must be "schema.function"`, f)
		}
	}

	v.statements(name, r)
	v.dataUse(name, r)

	if r.UpstreamUser == "" && (r.UpstreamPassword != "" || r.UpstreamPasswordEnv != "" || r.UpstreamPasswordFile != "") {
		v.errorf(at("upstream_user"), "required when the role sets an upstream password")
	}
	v.secret(at(), "upstream_password", r.UpstreamPassword, r.UpstreamPasswordEnv, &r.UpstreamPasswordFile)
}

// columnOverride checks the key of a roles.X.columns entry.
func (v *validator) columnOverride(role string, path []string, col string, granted map[string]bool) {
	parts, ok := splitName(col, 3)
	if !ok {
		v.errorf(path, `column %q must be "schema.table.column"`, col)
		return
	}
	table := parts[0] + "." + parts[1]
	if !granted[table] {
		v.errorf(path, "table %q is not in roles.%s.tables", table, role)
		return
	}
	if _, ok := v.c.Tables[table].Columns[parts[2]]; !ok {
		v.errorf(path, "column %q is not classified in [tables.%q]", parts[2], table)
	}
}

func (v *validator) transform(path []string, s string) {
	if _, err := ParseTransform(s); err != nil {
		v.errorf(path, "%v", err)
	}
}

// statements checks roles.X.statements and fills in the defaults of statements and
// read_only: a role that does not list statements gets every kind when it is full and
// may write, and DefaultStatements otherwise, so a restricted role that should write
// must list the write kinds it needs.
func (v *validator) statements(name string, r *Role) {
	readOnly := r.IsReadOnly()
	r.ReadOnly = &readOnly
	path := []string{"roles", name, "statements"}
	switch {
	case r.Statements == nil && r.Profile == ProfileFull && !readOnly:
		r.Statements = slices.Clone(StatementKinds)
	case r.Statements == nil:
		r.Statements = slices.Clone(DefaultStatements)
	case len(r.Statements) == 0:
		v.errorf(path, "lists no statement kind, so the role could run nothing: remove the key for the default")
	}
	for i, s := range r.Statements {
		switch {
		case !IsStatementKind(s):
			v.errorf(append(path, elem(i)), "%s", unknownStatement(s))
		case IsWriteStatement(s) && readOnly:
			v.errorf(append(path, elem(i)), "%q writes, but the role is read-only (set read_only = false to allow it)", s)
		}
	}
}
