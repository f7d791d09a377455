package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/proxy/reid"
)

// runInit prepares the upstream database for re-identification codes (reid.Ensure):
// the schema pgmask and its table of codes, the grants, a code for every subject. The
// proxy does the same on first use and at every catalog refresh, as the [upstream]
// user; init is for a DBA who wants it done ahead of time, or as an admin identity
// that owns the table (the [upstream] user then needs no CREATE privilege).
func runInit(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("init", "--config FILE [--dsn DSN]", stderr)
	path := fs.String("config", "pgmask.toml", "configuration file")
	dsn := fs.String("dsn", "", "connect with this PostgreSQL connection string (e.g. an administrator's) instead of as the [upstream] user")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: pgmask init --config FILE [--dsn DSN]

Prepares the [upstream] database for re-identification codes (45 CFR 164.514(c)),
which safe_harbor roles and the code transform show in place of subject keys:

  - creates the schema pgmask and the table pgmask.subject_codes, if missing
    (the connecting user then owns them);
  - revokes every privilege on them from PUBLIC, grants SELECT to the upstream
    users of the roles that show codes, and SELECT and INSERT to the [upstream]
    user, which gives new subjects codes at every catalog refresh;
  - gives every subject of the tables those roles are granted a random code.

It is idempotent: codes never change, and running it again only codes new
subjects. pgmask serve does the same on first use, as the [upstream] user.

`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "pgmask init: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	conn, err := connect(ctx, cfg, "--dsn", *dsn, map[string]string{"application_name": "pgmask init"})
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	rep, err := reid.Ensure(ctx, conn, cfg)
	if !rep.Ready {
		return err
	}
	state := "exists"
	if rep.Created {
		state = "created"
	}
	fmt.Fprintf(stdout, "%s: %s in database %q\n", reid.Table, state, cfg.Upstream.Database)
	if len(rep.Readers) > 0 {
		fmt.Fprintf(stdout, "readable by the upstream users of the roles that show codes: %s\n", strings.Join(rep.Readers, ", "))
	} else {
		fmt.Fprintln(stdout, "no role shows codes (profile safe_harbor or the code transform)")
	}
	if len(rep.Tables) > 0 {
		fmt.Fprintf(stdout, "subjects of %s: %s\n", strings.Join(rep.Tables, ", "), plural(int(rep.NewCodes), "new code"))
	}
	return err
}
