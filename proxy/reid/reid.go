// Package reid keeps pgmask's re-identification codes (45 CFR 164.514(c)) in the
// upstream database: one random code per subject (patient), in the table
// pgmask.subject_codes, which the rewriter's code transform reads in place of subject
// keys (rewriter/transform/code.go).
//
// It sits in the proxy, beside the catalog loader: `pgmask init` calls Ensure once, as
// the DBA's admin identity or the [upstream] user, and the proxy calls it before every
// catalog refresh, so the table is created on first use and new subjects get codes.
// The proxy's runs skip the tables that cannot have a new subject since their last
// top-up (Memory, unchanged.go).
// A code is drawn from PostgreSQL's strong random source (gen_random_uuid, PostgreSQL
// 13 or later) and never derived from the subject's value; this package never reads a
// subject key or a code into pgmask: the codes are made, and stay, in the database.
package reid

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgconn"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/rewriter/transform"
)

// Table is the mapping's name as SQL.
const Table = transform.CodeSchema + "." + transform.CodeTable

// lockKey is the transaction-level advisory lock Ensure holds, so that pgmask
// instances starting together (or `pgmask init` beside a running proxy) take turns:
// "pgmask" in ASCII, then 1.
const lockKey = 0x70676d61736b0001

// Report says what Ensure found and did. It holds names and counts, never a subject
// key or a code.
type Report struct {
	// Ready is set once the table exists (whatever else failed).
	Ready bool
	// Created is set when Ensure created the schema or the table.
	Created bool
	// Readers are the upstream users that may read the codes (SELECT on the table):
	// the upstream identities of the roles that show codes.
	Readers []string
	// Tables are the tables whose subjects were given codes, "schema.table".
	Tables []string
	// Unchanged are the tables not read because nothing was written to them since
	// their last top-up by this process (Memory.Ensure only), "schema.table".
	Unchanged []string
	// NewCodes is how many subjects were given a code.
	NewCodes int64
}

// Needed reports whether any role of cfg shows codes: a safe_harbor role (whose
// subject keys are shown as codes) or a role that names the code transform.
func Needed(cfg *config.Config) bool {
	for _, r := range cfg.Roles {
		if usesCodes(r) {
			return true
		}
	}
	return false
}

// usesCodes reports whether a role may be shown codes.
func usesCodes(r config.Role) bool {
	if r.Profile == config.ProfileSafeHarbor {
		return true
	}
	for _, m := range []map[string]string{r.Transforms, r.Columns} {
		for _, s := range m {
			if spec, err := transform.Parse(s); err == nil && spec.Name == transform.CodeName {
				return true
			}
		}
	}
	return false
}

// readers returns the upstream users of the roles that show codes, sorted.
func readers(cfg *config.Config) []string {
	var users []string
	for _, r := range cfg.Roles {
		if !usesCodes(r) {
			continue
		}
		u := r.UpstreamUser
		if u == "" {
			u = cfg.Upstream.User
		}
		if !slices.Contains(users, u) {
			users = append(users, u)
		}
	}
	sort.Strings(users)
	return users
}

// subjectTables returns the tables granted to roles that show codes and that name a
// subject key, sorted, with that key: only their subjects can be shown a code.
func subjectTables(cfg *config.Config) (tables []string, keys map[string]string) {
	keys = map[string]string{}
	for _, r := range cfg.Roles {
		if !usesCodes(r) {
			continue
		}
		for _, t := range r.Tables {
			if k := cfg.Tables[t].SubjectKey; k != "" && keys[t] == "" {
				keys[t] = k
				tables = append(tables, t)
			}
		}
	}
	sort.Strings(tables)
	return tables, keys
}

// Ensure makes the codes ready for cfg, idempotently, in one transaction on conn (an
// idle connection to the upstream database):
//
//  1. creates the schema pgmask and the table pgmask.subject_codes if they are missing
//     (which needs the CREATE privilege on the database; the connection's user owns
//     them then);
//  2. if that user owns them: revokes every privilege PUBLIC has, grants USAGE on the
//     schema and SELECT on the table to the upstream users of the roles that show
//     codes, and SELECT and INSERT to the [upstream] user, which tops the codes up at
//     every catalog refresh (each only when missing); if not, reports what is missing;
//  3. gives every subject of every table granted to a role that shows codes (the
//     values of its subject_key) a code it does not have yet: one INSERT ... SELECT
//     per table, repeated for the rare subjects whose random code collided with one
//     already taken.
//
// Codes are never changed or removed, so they stay the same across tables, sessions,
// restarts and pgmask instances. A problem with one table or one grant does not stop
// the others; every problem is in the returned error, which names tables, columns
// and users only.
func Ensure(ctx context.Context, conn *pgconn.PgConn, cfg *config.Config) (Report, error) {
	return ensure(ctx, conn, cfg, nil)
}

// ensure is Ensure; with mem, it skips the tables mem shows unchanged and remembers
// those it topped up once it has committed.
func ensure(ctx context.Context, conn *pgconn.PgConn, cfg *config.Config, mem *Memory) (Report, error) {
	e := &ensurer{conn: conn}
	var rep Report
	if err := e.exec(ctx, "BEGIN"); err != nil {
		return rep, err
	}
	committed := false
	defer func() {
		if !committed {
			conn.Exec(context.Background(), "ROLLBACK").ReadAll()
		}
	}()
	// The connection is pgmask's own: nothing but pg_catalog on the path, so every
	// name below resolves to the built-in, and pgmask's objects are always qualified.
	if err := e.exec(ctx, "SET LOCAL search_path = pg_catalog"); err != nil {
		return rep, err
	}
	if err := e.exec(ctx, fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", int64(lockKey))); err != nil {
		return rep, err
	}
	st, err := e.state(ctx)
	if err != nil {
		return rep, err
	}
	if err := e.create(ctx, &st, &rep); err != nil {
		return rep, err
	}
	rep.Ready = true
	var errs []error
	rep.Readers = readers(cfg)
	errs = append(errs, e.grant(ctx, st, rep.Readers, cfg.Upstream.User)...)
	tables, keys := subjectTables(cfg)
	var last, now counters
	if mem != nil {
		last = mem.load()
		var err error
		if now, err = e.counters(ctx, tables, keys); err != nil {
			errs = append(errs, fmt.Errorf("reading the change counters, so every table is read: %w", err))
		}
	}
	var done []subject
	for _, t := range tables {
		s := subject{t, keys[t]}
		if unchanged(last, now, s) {
			rep.Unchanged = append(rep.Unchanged, t)
			done = append(done, s)
			continue
		}
		n, err := e.topUp(ctx, t, keys[t])
		rep.NewCodes += n
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rep.Tables = append(rep.Tables, t)
		done = append(done, s)
	}
	// COMMIT of a transaction that an unexpected error aborted answers ROLLBACK.
	res := conn.ExecParams(ctx, "COMMIT", nil, nil, nil, nil).Read()
	if res.Err == nil && res.CommandTag.String() != "COMMIT" {
		res.Err = fmt.Errorf("%s was rolled back: %w", Table, errors.Join(errs...))
	}
	if res.Err != nil {
		return Report{}, pgError(res.Err)
	}
	committed = true
	if mem != nil {
		mem.store(now.after(done))
	}
	return rep, errors.Join(errs...)
}

// ensurer runs Ensure's statements on one connection.
type ensurer struct{ conn *pgconn.PgConn }

// state is what exists before Ensure changes anything.
type state struct {
	user                  string // current_user
	hasSchema, hasTable   bool
	ownsSchema, ownsTable bool   // the current user may grant on them
	tableOwner            string // for messages
}

func (e *ensurer) state(ctx context.Context) (state, error) {
	rows, err := e.query(ctx, `SELECT current_user, n.oid IS NOT NULL, c.oid IS NOT NULL,
       coalesce(pg_has_role(n.nspowner, 'USAGE'), false), coalesce(pg_has_role(c.relowner, 'USAGE'), false),
       coalesce(pg_get_userbyid(c.relowner)::text, '')
FROM (SELECT) AS x
LEFT JOIN pg_namespace AS n ON n.nspname = $1
LEFT JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relname = $2 AND c.relkind = 'r'`,
		transform.CodeSchema, transform.CodeTable)
	if err != nil {
		return state{}, err
	}
	r := rows[0]
	b := func(i int) bool { return string(r[i]) == "t" }
	return state{
		user: string(r[0]), hasSchema: b(1), hasTable: b(2), ownsSchema: b(3), ownsTable: b(4),
		tableOwner: string(r[5]),
	}, nil
}

// create makes what is missing. CREATE ... IF NOT EXISTS would need the CREATE
// privilege even when the object exists, so existence is tested first and a user
// without it can still top up a table an administrator made.
func (e *ensurer) create(ctx context.Context, st *state, rep *Report) error {
	if !st.hasSchema {
		if err := e.exec(ctx, "CREATE SCHEMA "+transform.CodeSchema); err != nil {
			return fmt.Errorf("creating schema %s (run \"pgmask init\" as a user that may create schemas): %w", transform.CodeSchema, err)
		}
		st.hasSchema, st.ownsSchema, rep.Created = true, true, true
	}
	if !st.hasTable {
		err := e.exec(ctx, `CREATE TABLE `+Table+` (
    subject    text        PRIMARY KEY,
    code       bigint      NOT NULL UNIQUE CHECK (code BETWEEN 1 AND 2147483647),
    created_at timestamptz NOT NULL DEFAULT now()
)`)
		if err == nil {
			err = e.exec(ctx, `COMMENT ON TABLE `+Table+` IS 'pgmask: random re-identification codes of subjects (45 CFR 164.514(c)); never disclose this table'`)
		}
		if err != nil {
			return fmt.Errorf("creating table %s (run \"pgmask init\" as a user that may create it): %w", Table, err)
		}
		st.hasTable, st.ownsTable, rep.Created = true, true, true
	}
	return nil
}

// grant gives the readers and the top-up user what they lack, and takes from PUBLIC
// what it has, when the current user may; otherwise it reports what is missing.
// Privileges are tested before they are granted or revoked, so that the run at every
// catalog refresh changes no catalog row (and invalidates no cache) when all is set.
func (e *ensurer) grant(ctx context.Context, st state, readers []string, topUp string) []error {
	var errs []error
	for _, obj := range []struct {
		owned        bool
		kind, name   string
		acl, catalog string
	}{
		{st.ownsSchema, "SCHEMA", transform.CodeSchema, "nspacl", "pg_namespace WHERE nspname = '" + transform.CodeSchema + "'"},
		{st.ownsTable, "TABLE", Table, "relacl", "pg_class WHERE oid = '" + Table + "'::regclass"},
	} {
		if !obj.owned {
			continue
		}
		rows, err := e.query(ctx, "SELECT EXISTS (SELECT FROM "+obj.catalog+" AND 0::oid IN (SELECT grantee FROM aclexplode("+obj.acl+")))")
		if err == nil && string(rows[0][0]) == "t" {
			err = e.exec(ctx, "REVOKE ALL ON "+obj.kind+" "+obj.name+" FROM PUBLIC")
		}
		if err != nil {
			return append(errs, fmt.Errorf("revoking %s from PUBLIC: %w", obj.name, err))
		}
	}
	users := append(slices.Clone(readers), topUp)
	sort.Strings(users)
	for _, u := range slices.Compact(users) {
		if u == st.user {
			continue // the owner, or, if not, its INSERT shows in topUp
		}
		rows, err := e.query(ctx, "SELECT 1 FROM pg_roles WHERE rolname = $1", u)
		if err != nil {
			return append(errs, err)
		}
		if len(rows) == 0 {
			errs = append(errs, fmt.Errorf("upstream user %q does not exist in the database: it cannot be given the codes", u))
			continue
		}
		privs := []string{"SELECT"}
		if u == topUp {
			privs = append(privs, "INSERT")
		}
		usage, missing, err := e.lacks(ctx, u, privs)
		if err != nil {
			return append(errs, err)
		}
		if usage && len(missing) == 0 {
			continue
		}
		if (!usage && !st.ownsSchema) || (len(missing) > 0 && !st.ownsTable) {
			lack := slices.Clone(missing)
			if !usage {
				lack = append([]string{"USAGE on schema " + transform.CodeSchema}, lack...)
			}
			errs = append(errs, fmt.Errorf("upstream user %q lacks %s on %s: run \"pgmask init\" as the owner (%s)",
				u, strings.Join(lack, ", "), Table, st.tableOwner))
			continue
		}
		err = e.savepoint(ctx, func() error {
			if !usage {
				if err := e.exec(ctx, "GRANT USAGE ON SCHEMA "+transform.CodeSchema+" TO "+quoteIdent(u)); err != nil {
					return err
				}
			}
			if len(missing) > 0 {
				return e.exec(ctx, "GRANT "+strings.Join(missing, ", ")+" ON TABLE "+Table+" TO "+quoteIdent(u))
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("granting %s to %q: %w", Table, u, err))
		}
	}
	return errs
}

// lacks reports whether user has USAGE on the schema, and which of privs on the table
// it lacks.
func (e *ensurer) lacks(ctx context.Context, user string, privs []string) (usage bool, missing []string, _ error) {
	rows, err := e.query(ctx, "SELECT has_schema_privilege($1::name, $2::text, 'USAGE')", user, transform.CodeSchema)
	if err != nil {
		return false, nil, err
	}
	usage = string(rows[0][0]) == "t"
	for _, p := range privs {
		rows, err := e.query(ctx, "SELECT has_table_privilege($1::name, $2::text, $3::text)", user, Table, p)
		if err != nil {
			return false, nil, err
		}
		if string(rows[0][0]) != "t" {
			missing = append(missing, p)
		}
	}
	return usage, missing, nil
}

// topUp gives every subject of table that has no code a new one and returns how many
// it gave.
func (e *ensurer) topUp(ctx context.Context, table, key string) (int64, error) {
	rel := relation(table)
	rows, err := e.query(ctx, `SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute AS a
WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`, rel, key)
	if err != nil {
		return 0, fmt.Errorf("codes for %s: %w", table, err)
	}
	if len(rows) == 0 {
		return 0, fmt.Errorf("codes for %s: the table or its subject key %q does not exist", table, key)
	}
	if typ := string(rows[0][0]); !stableText(typ) {
		return 0, fmt.Errorf("codes for %s: subject key %q is of type %s, whose text form may depend on session settings; use a text, integer, numeric or uuid key", table, key, typ)
	}
	k := "t." + quoteIdent(key)
	// missing is read once (a CTE referenced twice is materialized); the codes added
	// are counted separately, since ON CONFLICT skips a subject whose random code is
	// already taken (or, were it possible under the lock, a subject added meanwhile).
	sql := `WITH missing AS (
    SELECT DISTINCT (` + k + `)::text AS subject
    FROM ` + rel + ` AS t
    WHERE ` + k + ` IS NOT NULL
      AND NOT EXISTS (SELECT FROM ` + Table + ` AS c WHERE c.subject = (` + k + `)::text)
), added AS (
    INSERT INTO ` + Table + ` (subject, code)
    SELECT m.subject, ` + randomCode + ` FROM missing AS m
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM missing), (SELECT count(*) FROM added)`
	var total int64
	for try := 0; try < maxTries; try++ {
		var missing, added int64
		err := e.savepoint(ctx, func() error {
			rows, err := e.query(ctx, sql)
			if err != nil {
				return err
			}
			_, err = fmt.Sscan(string(rows[0][0])+" "+string(rows[0][1]), &missing, &added)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("codes for %s: %w", table, err)
		}
		total += added
		if added == missing {
			return total, nil
		}
	}
	return total, fmt.Errorf("codes for %s: some subjects still have no code after %d tries", table, maxTries)
}

// maxTries bounds the repetitions of a top-up. With n codes taken, a new code
// collides with probability n/2³¹, so a second try is rare and a tenth is absurd.
const maxTries = 10

// randomCode is a code in 1..2147483647 from 32 random bits of a version 4 UUID
// (gen_random_uuid draws from pg_strong_random); the modulo's bias is below 2⁻³⁰ and
// says nothing about the subject.
const randomCode = `((('x' || left(gen_random_uuid()::text, 8))::bit(32)::bigint % 2147483647) + 1)`

// stableText reports whether the text form of a value of type t (as format_type
// prints it) is the same in every session, so that the subject key as text written by
// Ensure matches the one the code transform computes in a client's session (dates,
// timestamps and floats print by DateStyle, TimeZone and extra_float_digits).
func stableText(t string) bool {
	if strings.HasSuffix(t, "[]") {
		return false
	}
	switch t {
	case "text", "name", "smallint", "integer", "bigint", "uuid":
		return true
	}
	return strings.HasPrefix(t, "character") || strings.HasPrefix(t, "numeric")
}

// savepoint runs f so that its failure leaves the transaction usable.
func (e *ensurer) savepoint(ctx context.Context, f func() error) error {
	if err := e.exec(ctx, "SAVEPOINT pgmask_reid"); err != nil {
		return err
	}
	if err := f(); err != nil {
		if rerr := e.exec(ctx, "ROLLBACK TO SAVEPOINT pgmask_reid"); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return e.exec(ctx, "RELEASE SAVEPOINT pgmask_reid")
}

func (e *ensurer) exec(ctx context.Context, sql string) error {
	_, err := e.query(ctx, sql)
	return err
}

// query runs one statement with text parameters and returns its rows as text.
func (e *ensurer) query(ctx context.Context, sql string, args ...string) ([][][]byte, error) {
	params := make([][]byte, len(args))
	for i, a := range args {
		params[i] = []byte(a)
	}
	res := e.conn.ExecParams(ctx, sql, params, nil, nil, nil).Read()
	if res.Err != nil {
		return nil, pgError(res.Err)
	}
	return res.Rows, nil
}

// pgError keeps the message and SQLSTATE of a server error and drops its detail,
// which could quote a value.
func pgError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	return err
}

// relation is table ("schema.table") as SQL.
func relation(table string) string {
	schema, name, _ := strings.Cut(table, ".")
	return quoteIdent(schema) + "." + quoteIdent(name)
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
