package reid

// Skipping the top-up of subject tables that cannot have a new subject.
//
// A top-up reads every subject key of a table and probes the codes for each, which
// on a large database is a full scan of the table and of the codes at every catalog
// refresh. PostgreSQL's cumulative statistics count, per table, the rows inserted
// and updated (pg_stat_get_tuples_inserted, pg_stat_get_tuples_updated), so a table
// whose counters, and those of its partitions and inheritance children, have not
// moved since a successful top-up has no row that top-up did not see. Memory keeps
// what the counters said before each table's last successful top-up.
//
// Why a skip can delay a subject but never lose it. Say the top-up of a table read
// fingerprint v (the counters and what else fingerprintSQL reads) at time r, then
// took its snapshot S (a later statement, so S > r) and committed. A row that S did
// not see was written by a transaction X that had not committed when S was taken. A
// backend adds a transaction's counts to the shared statistics only after the
// transaction has ended (pgstat_report_stat runs outside transactions; a prepared
// transaction's counts are added by COMMIT PREPARED), so X's counts arrive at some
// time f > S > r. The counters only grow while the epoch (epochSQL) stays the same,
// so every read after f differs from v, and the first refresh after f tops the table
// up again, with a snapshot that sees X's rows; unless what is remembered by then was
// read after f, and then its own top-up saw them. A backend reports its counts when
// it is between transactions: at once if it last did a second ago or more
// (PGSTAT_MIN_INTERVAL), else within PGSTAT_IDLE_INTERVAL (10 s); under lock
// contention within PGSTAT_MAX_INTERVAL (60 s); a procedure that commits inside,
// when it ends; and when the backend exits. A new subject gets its code that much
// later than without skipping. A top-up that was not needed is harmless: it finds
// nothing to add.
//
// What the counters cannot tell, and how it is covered:
//   - a reset of the statistics (pg_stat_reset, pg_stat_reset_single_table_counters,
//     which both set the database's stats_reset), a crash (which discards every
//     counter and sets the reset time of the shared statistics) or a restart or
//     failover (another postmaster start time): all change the epoch, so nothing is
//     skipped; the epoch is read before and after the tables, so a reset while they
//     are read is seen too;
//   - track_counts off: the counters do not move, so nothing is skipped while this
//     connection has it off or any role or database setting names it. A session that
//     turns it off itself (superusers only) hides its rows until the next counted
//     change of the table, or `pgmask init`, or a pgmask restart;
//   - PostgreSQL before 15, whose statistics went through a lossy collector: nothing
//     is skipped;
//   - changes that write no counted row: a table rewrite (ALTER COLUMN ... TYPE ...
//     USING, which can change every key) gets a new relfilenode; a renamed, dropped or
//     retyped key column a new attnum, type or typmod; an attached or detached
//     partition, or a dropped and recreated table, another set of OIDs (the same OID
//     again would take a wraparound of the OID counter, and the same counts). All
//     are in the fingerprint. A view, or a tree with a foreign table or any other
//     relation without counters of its own, is never skipped;
//   - a DELETE from a subject table adds no subject, so its count is not read; but a
//     code removed or changed in pgmask.subject_codes (by hand: pgmask never does)
//     leaves a subject without one, so the codes table's deleted and updated counters
//     and its relfilenode (TRUNCATE) are in the epoch;
//   - an error while reading any of this: nothing is skipped.
//
// Writes that bypass PostgreSQL's executor (a direct-path bulk loader) are not
// counted; `pgmask init`, which never skips, codes what they added.

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgconn"

	"github.com/pgmask/pgmask/config"
)

// Memory remembers, for one pgmask process, what the change counters of each subject
// table said before its last successful top-up, so that Ensure skips the tables that
// cannot have a new subject since. The zero value is ready; a Memory is safe for
// concurrent use. It holds catalog numbers, counts and times, never a subject key or
// a code.
type Memory struct {
	mu   sync.Mutex
	last counters
}

// Ensure is Ensure, skipping the tables that m shows unchanged since their last
// successful top-up, and remembering the tables it topped up once it has committed.
func (m *Memory) Ensure(ctx context.Context, conn *pgconn.PgConn, cfg *config.Config) (Report, error) {
	return ensure(ctx, conn, cfg, m)
}

func (m *Memory) load() counters {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// store replaces what m remembers. Two runs of Ensure may overlap (they take turns
// in the database); whichever stores last, every entry it stores was read before a
// top-up that committed, which is all that skipping relies on.
func (m *Memory) store(c counters) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last = c
}

// subject is a subject table with its subject key: a config that names another key
// for the table must top it up again.
type subject struct{ table, key string }

// counters is what the change counters said at one run: the epoch, "" when nothing
// may be skipped, and per subject table its fingerprint, "" when the table may not
// be skipped. A counters value is never modified once made.
type counters struct {
	epoch  string
	tables map[subject]string
}

// unchanged reports whether s may be skipped now: the epoch and the fingerprint are
// known and the same as before the last successful top-up of s.
func unchanged(last, now counters, s subject) bool {
	fp := now.tables[s]
	return now.epoch != "" && fp != "" && now.epoch == last.epoch && fp == last.tables[s]
}

// after is what to remember once the run that read now has committed: the
// fingerprints, as read now, of the subjects it topped up or skipped. A table whose
// top-up failed, or that the config no longer names, is forgotten, so it is topped
// up at the next run.
func (now counters) after(done []subject) counters {
	next := counters{epoch: now.epoch, tables: make(map[subject]string, len(done))}
	if now.epoch == "" {
		return next
	}
	for _, s := range done {
		if fp := now.tables[s]; fp != "" {
			next.tables[s] = fp
		}
	}
	return next
}

// epochSQL is what must stay the same for any table to be skipped: the database, the
// postmaster's start (a restart or another server), the reset times of the shared
// statistics (a crash sets them) and of the database's (any reset of its counters),
// and of the codes table ($1) its OID, relfilenode (TRUNCATE) and the codes updated
// or deleted. NULL when the counters cannot be trusted.
const epochSQL = `SELECT CASE WHEN current_setting('server_version_num')::int >= 150000
        AND current_setting('track_counts')::bool
        AND NOT EXISTS (SELECT FROM pg_db_role_setting AS s, unnest(s.setconfig) AS c(setting)
                        WHERE lower(split_part(c.setting, '=', 1)) = 'track_counts')
    THEN format('%s %s %s %s %s %s %s', d.oid, extract(epoch FROM pg_postmaster_start_time()),
        extract(epoch FROM pg_stat_get_bgwriter_stat_reset_time()), extract(epoch FROM pg_stat_get_db_stat_reset_time(d.oid)),
        c.oid, c.relfilenode, pg_stat_get_tuples_updated(c.oid) + pg_stat_get_tuples_deleted(c.oid))
    END
FROM pg_database AS d, pg_class AS c
WHERE d.datname = current_database() AND c.oid = $1::regclass`

// fingerprintSQL is a subject table's ($1, quoted) fingerprint with its subject key
// ($2): for the table and each partition or inheritance child, at any depth (a
// top-up reads them all), its OID and relfilenode, the key column's number, type and
// typmod, and the rows inserted and updated. NULL when the table is missing, or when
// a relation of the tree is not a table (a view, a foreign table) or lacks the key.
const fingerprintSQL = `WITH RECURSIVE tree(oid) AS (
    SELECT to_regclass($1)
    UNION
    SELECT i.inhrelid FROM pg_inherits AS i JOIN tree AS t ON i.inhparent = t.oid
)
SELECT CASE WHEN bool_and(c.relkind IN ('r', 'p') AND a.attnum IS NOT NULL)
    THEN string_agg(format('%s:%s:%s:%s:%s:%s', c.oid, c.relfilenode, a.attnum, a.atttypid, a.atttypmod,
        pg_stat_get_tuples_inserted(c.oid) + pg_stat_get_tuples_updated(c.oid)), ' ' ORDER BY c.oid)
    END
FROM tree
JOIN pg_class AS c ON c.oid = tree.oid
LEFT JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`

// counters reads the epoch, the fingerprints of tables and the epoch again, in a
// savepoint; only the epoch when it is NULL, since then nothing is skipped. The
// statistics a transaction reads are cached until pg_stat_clear_snapshot
// (stats_fetch_consistency), so each read starts with one. When the two epochs
// differ, something was reset meanwhile: nothing is skipped.
func (e *ensurer) counters(ctx context.Context, tables []string, keys map[string]string) (counters, error) {
	now := counters{tables: make(map[subject]string, len(tables))}
	epoch := func() (string, error) {
		if err := e.exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
			return "", err
		}
		rows, err := e.query(ctx, epochSQL, Table)
		if err != nil || len(rows) == 0 {
			return "", err
		}
		return string(rows[0][0]), nil
	}
	err := e.savepoint(ctx, func() error {
		before, err := epoch()
		if err != nil || before == "" {
			return err
		}
		if err := e.exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
			return err
		}
		for _, t := range tables {
			rows, err := e.query(ctx, fingerprintSQL, relation(t), keys[t])
			if err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
			now.tables[subject{t, keys[t]}] = string(rows[0][0])
		}
		after, err := epoch()
		if err != nil {
			return err
		}
		if before == after {
			now.epoch = before
		}
		return nil
	})
	if err != nil {
		return counters{}, fmt.Errorf("reading the change counters of the subject tables (so every table was scanned): %w", err)
	}
	return now, nil
}
