package rewriter

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/rewriter/transform"
)

// Profiles a role can have.
const (
	ProfileFull             = config.ProfileFull
	ProfileMinimumNecessary = config.ProfileMinimumNecessary
	ProfileLimitedDataSet   = config.ProfileLimitedDataSet
	ProfileSafeHarbor       = config.ProfileSafeHarbor
)

// Policy is a compiled, immutable pgmask policy. Sessions read the current one per
// statement, so swapping it applies a reload to open sessions at their next statement.
type Policy struct {
	// Version increases with every compiled policy of one process; caches key on it.
	Version uint64
	roles   map[string]*role
	key     secret   // master key of the keyed transforms (hash, date_shift)
	zip3    []string // restricted ZIP3 prefixes
	cfg     *config.Config
	// observer reads every classified table whole; see Observe.
	observer *role
}

// role is what one policy role may see and do.
type role struct {
	name       string
	profile    string
	readOnly   bool
	statements map[string]bool
	functions  map[string]bool         // "schema.fn" or "fn"
	tables     map[string]*tablePolicy // "schema.table" → policy
	byName     map[qualifiedName]*tablePolicy
}

// tablePolicy is what one role sees of one granted relation.
type tablePolicy struct {
	name       qualifiedName
	subjectKey string
	columns    map[string]columnPolicy // classified columns; the others are excluded
	filter     *rowFilter              // nil when every row is visible
}

// columnPolicy is the treatment of one classified column for one role.
type columnPolicy struct {
	category string
	spec     transform.Spec
	path     []string // the config key that chose the transform, for pgmask check
}

// treatment is how the column reaches the caller, for audit.
func (c columnPolicy) treatment() Treatment {
	switch c.spec.Name {
	case "keep":
		return Raw
	case "exclude":
		return Excluded
	}
	return Masked(c.spec.String())
}

// Compile validates cfg as a policy and returns its immutable compiled form. The
// master key of keyed transforms comes from PGMASK_MASK_KEY (see masterKey).
func Compile(cfg *config.Config, version uint64) (*Policy, error) {
	return CompileWithKey(cfg, version, masterKey())
}

// CompileWithKey is Compile with an explicit master key, for tests and for callers that
// hold the key themselves. The policy keeps the key and never prints it.
func CompileWithKey(cfg *config.Config, version uint64, key []byte) (*Policy, error) {
	return CompileWith(cfg, version, Secrets{Key: key})
}

// Secrets is what a policy needs from outside the configuration file, read by the
// caller (the rewriter does no I/O).
type Secrets struct {
	// Key is the master key of hash and date_shift; nil means the per-process key.
	Key []byte
	// Zip3 replaces the restricted ZIP3 prefixes shipped with pgmask when not nil.
	Zip3 *transform.Zip3Table
}

// CompileWith is Compile with the secrets given explicitly.
func CompileWith(cfg *config.Config, version uint64, s Secrets) (*Policy, error) {
	key := s.Key
	if key == nil {
		key = masterKey()
	}
	zip3 := transform.DefaultZip3()
	if s.Zip3 != nil {
		zip3 = *s.Zip3
	}
	p := &Policy{
		Version: version,
		roles:   make(map[string]*role, len(cfg.Roles)),
		key:     secret(slices.Clone(key)),
		zip3:    zip3.Prefixes,
		cfg:     cfg,
	}
	var errs []error
	for _, name := range sortedKeys(cfg.Roles) {
		r, err := compileRole(cfg, name, cfg.Roles[name])
		errs = append(errs, err...)
		p.roles[name] = r
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	p.observer = compileObserver(cfg)
	return p, nil
}

// String describes the policy without its secrets, so it can be logged.
func (p *Policy) String() string {
	return "pgmask policy version " + strconv.FormatUint(p.Version, 10) + " (" + strconv.Itoa(len(p.roles)) + " roles)"
}

// GoString is String, so %#v cannot print the master key either.
func (p *Policy) GoString() string { return p.String() }

// Roles returns the names of the policy's roles, sorted.
func (p *Policy) Roles() []string { return sortedKeys(p.roles) }

// HasRole reports whether the policy defines the named role.
func (p *Policy) HasRole(name string) bool { _, ok := p.roles[name]; return ok }

// Unrestricted reports whether the named role sees everything (profile full), so that
// protocol paths that carry no checkable SQL, such as the fast-path FunctionCall, may be
// forwarded for it.
func (p *Policy) Unrestricted(name string) bool {
	r, ok := p.roles[name]
	return ok && r.profile == ProfileFull
}

// ReadOnly reports whether the named role may only read (unknown roles are read-only).
func (p *Policy) ReadOnly(name string) bool {
	r, ok := p.roles[name]
	return !ok || r.readOnly
}

func compileRole(cfg *config.Config, name string, rc config.Role) (*role, []error) {
	at := func(k ...string) []string { return append([]string{"roles", name}, k...) }
	var errs []error
	fail := func(path []string, format string, args ...any) {
		errs = append(errs, cfg.Errorf(path, format, args...))
	}
	if !config.IsProfile(rc.Profile) {
		fail(at("profile"), "unknown profile %q (want one of %s)", rc.Profile, strings.Join(config.Profiles, ", "))
	}
	r := &role{
		name:       name,
		profile:    rc.Profile,
		readOnly:   rc.IsReadOnly(),
		statements: map[string]bool{},
		functions:  map[string]bool{},
		tables:     map[string]*tablePolicy{},
		byName:     map[qualifiedName]*tablePolicy{},
	}
	stmts := rc.Statements
	if stmts == nil {
		stmts = config.DefaultStatements
		if rc.Profile == ProfileFull && !r.readOnly {
			stmts = config.StatementKinds
		}
	}
	for i, s := range stmts {
		switch {
		case !config.IsStatementKind(s):
			fail(at("statements", elemKey(i)), "unknown statement kind %q", s)
		case config.IsWriteStatement(s) && r.readOnly:
			fail(at("statements", elemKey(i)), "%q writes, but the role is read-only", s)
		case rc.Profile != ProfileFull && neverForRestricted[s] != "":
			fail(at("statements", elemKey(i)), "%q cannot be allowed for a restricted role: %s", s, neverForRestricted[s])
		}
		r.statements[s] = true
	}
	for i, f := range rc.Functions {
		if neverAllowlistable(f) {
			fail(at("functions", elemKey(i)), "%q can never be allowed: it runs SQL text or changes pinned settings", f)
		}
		r.functions[f] = true
	}
	if rc.Profile == ProfileFull {
		return r, errs
	}
	for _, cat := range sortedKeys(rc.Transforms) {
		spec, err := transform.Parse(rc.Transforms[cat])
		rule := profileColumn(rc.Profile, cat, false)
		def, _ := transform.Parse(rule.transform)
		if err == nil && !tightens(rc.Profile, def.String(), spec.String()) {
			fail(at("transforms", cat), "%s", loosens(spec, rc.Profile, "category "+cat, def, rule))
		}
	}
	for i, t := range rc.Tables {
		schema, table, ok := strings.Cut(t, ".")
		if !ok || strings.Contains(table, ".") {
			fail(at("tables", elemKey(i)), `table %q must be "schema.table"`, t)
			continue
		}
		if schema == transform.CodeSchema {
			// pgmask's own schema holds the re-identification codes' mapping, which
			// 164.514(c)(2) forbids disclosing: no role may read it.
			fail(at("tables", elemKey(i)), "table %q is in schema %s, which belongs to pgmask (re-identification codes) and can never be granted", t, schema)
			continue
		}
		tp, err := compileTable(cfg, name, rc, t)
		errs = append(errs, err...)
		tp.name = qualifiedName{schema, table}
		r.tables[t] = tp
		r.byName[tp.name] = tp
	}
	for _, col := range sortedKeys(rc.Columns) {
		i := strings.LastIndexByte(col, '.')
		if i < 0 || r.tables[col[:i]] == nil {
			fail(at("columns", col), "table of %q is not in roles.%s.tables", col, name)
		}
	}
	for _, t := range sortedKeys(rc.Rows) {
		tp := r.tables[t]
		if tp == nil {
			fail(at("rows", t), "table %q is not in roles.%s.tables", t, name)
			continue
		}
		f, err := compileRowFilter(t, rc.Rows[t])
		if err != nil {
			fail(at("rows", t), "%v", err)
			continue
		}
		tp.filter = f
	}
	return r, errs
}

// compileTable works out the treatment of every classified column of one granted
// table: profile default, then the role's category override, then its column override.
func compileTable(cfg *config.Config, roleName string, rc config.Role, table string) (*tablePolicy, []error) {
	tc := cfg.Tables[table]
	tp := &tablePolicy{subjectKey: tc.SubjectKey, columns: make(map[string]columnPolicy, len(tc.Columns))}
	var errs []error
	for _, col := range sortedKeys(tc.Columns) {
		cat := tc.Columns[col]
		rule := profileColumn(rc.Profile, cat, col == tc.SubjectKey)
		chosen, path := rule.transform, []string{"tables", table, "columns", col}
		if s, ok := rc.Transforms[cat]; ok {
			chosen, path = s, []string{"roles", roleName, "transforms", cat}
		}
		if s, ok := rc.Columns[table+"."+col]; ok {
			chosen, path = s, []string{"roles", roleName, "columns", table + "." + col}
		}
		spec, err := transform.Parse(chosen)
		if err != nil {
			errs = append(errs, cfg.Errorf(path, "%v", err))
			continue
		}
		defSpec, _ := transform.Parse(rule.transform)
		if !tightens(rc.Profile, defSpec.String(), spec.String()) {
			errs = append(errs, cfg.Errorf(path, "%s", loosens(spec, rc.Profile, table+"."+col+" (category "+cat+")", defSpec, rule)))
			continue
		}
		tp.columns[col] = columnPolicy{category: cat, spec: spec, path: path}
	}
	return tp, errs
}

// loosens explains why an override is refused: the rule of the profile it would
// break, and what may override it instead.
func loosens(override transform.Spec, profile, what string, def transform.Spec, rule profileRule) string {
	why := rule.rule
	if why == "" {
		why = "the profile applies " + def.String()
	}
	return fmt.Sprintf("%s would loosen profile %s for %s: %s; a role may only tighten it (exclude, null, redact, or a re-identification code)",
		override, profile, what, why)
}

// neverForRestricted lists the statement kinds pgmask cannot prove safe, so refuses
// for every restricted role even when the policy lists them.
var neverForRestricted = map[string]string{
	config.StatementExplain:     "EXPLAIN output shows filter expressions and row estimates of the raw tables",
	config.StatementDo:          "anonymous code blocks run SQL pgmask cannot see",
	config.StatementMaintenance: "VACUUM, ANALYZE and friends act on raw tables",
}

func isWriteKind(kind string) bool { return config.IsWriteStatement(kind) }

// elemKey addresses element i of an array in a config key path.
func elemKey(i int) string { return "[" + strconv.Itoa(i) + "]" }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
