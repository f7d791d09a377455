package main

import (
	"context"
	"errors"

	"github.com/jackc/pgconn"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/proxy/reid"
	"github.com/pgmask/pgmask/rewriter"
)

// codesChecks checks, when a role shows re-identification codes, that pgmask can keep
// them (proxy/reid): without pgmask.subject_codes, the [upstream] user must be allowed
// to create it on first use (an error otherwise: run `pgmask init` as an
// administrator); with it, the [upstream] user must be allowed to add codes for new
// subjects at every catalog refresh (a warning otherwise: they are shown NULL).
// Whether each role's upstream user may read the codes is checked by compileChecks,
// which plans every derived table as that user.
func codesChecks(ctx context.Context, conn *pgconn.PgConn, cfg *config.Config, cat *rewriter.Catalog) (errs, warnings []error) {
	if !reid.Needed(cfg) {
		return nil, nil
	}
	user := []string{"upstream", "user"}
	sql := "SELECT pg_catalog.has_database_privilege($1::pg_catalog.name, pg_catalog.current_database(), 'CREATE')"
	if cat.HasSubjectCodes() {
		sql = "SELECT pg_catalog.has_table_privilege($1::pg_catalog.name, '" + reid.Table + "', 'INSERT')"
	}
	res := conn.ExecParams(ctx, sql, [][]byte{[]byte(cfg.Upstream.User)}, nil, nil, nil).Read()
	if res.Err != nil {
		var pgErr *pgconn.PgError
		if errors.As(res.Err, &pgErr) {
			return []error{cfg.Errorf(user, "cannot check the privileges of %q for re-identification codes: %s", cfg.Upstream.User, pgErr.Message)}, nil
		}
		return []error{res.Err}, nil
	}
	if len(res.Rows) == 1 && string(res.Rows[0][0]) == "t" {
		return nil, nil
	}
	if !cat.HasSubjectCodes() {
		return []error{cfg.Errorf(user, "roles show re-identification codes, but the database has no %s and %q may not create it: run \"pgmask init --dsn ADMIN_DSN\" as a user that may", reid.Table, cfg.Upstream.User)}, nil
	}
	return nil, []error{cfg.Errorf(user, "%q may not add rows to %s, so subjects added from now on are shown without a code (NULL): run \"pgmask init\" as the table's owner", cfg.Upstream.User, reid.Table)}
}
