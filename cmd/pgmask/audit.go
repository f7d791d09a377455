package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/proxy/audit"
)

// runAudit is `pgmask audit verify` and `pgmask audit report`: proving the audit log
// was not tampered with, and reviewing what it says (docs/audit.md).
func runAudit(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit", "<verify|report> [flags] FILE...", stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: pgmask audit <verify|report> [flags] FILE...

  verify   check the chain of MACs: report OK, or the first record that was
           edited, deleted, inserted or reordered
  report   access review: identifier columns touched (raw or masked), denials,
           break-glass events, and grants never used

FILE... are the audit files (rotated ones too, in any order), or - for stdin.
Run 'pgmask audit verify --help' or 'pgmask audit report --help' for the flags.
`)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	rest := fs.Args()[1:]
	switch sub := fs.Arg(0); sub {
	case "verify":
		return runAuditVerify(rest, stdin, stdout, stderr)
	case "report":
		return runAuditReport(rest, stdin, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "pgmask audit: unknown subcommand %q\n\n", sub)
		fs.Usage()
		return errUsage
	}
}

func runAuditVerify(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit verify", "--key-env NAME | --key-file FILE [--anchor SEQ:MAC] FILE...", stderr)
	var key audit.Config
	var anchor string
	fs.StringVar(&key.KeyEnv, "key-env", "", "environment variable holding the initial audit key (hex or raw)")
	fs.StringVar(&key.KeyFile, "key-file", "", "file holding the initial audit key (hex or raw)")
	fs.StringVar(&anchor, "anchor", "", "SEQ:MAC of a record kept elsewhere, to prove the end of the chain was not cut")
	files, err := parseAuditArgs(fs, args)
	if err != nil {
		return err
	}
	if (key.KeyEnv == "") == (key.KeyFile == "") || len(files) == 0 {
		fs.Usage()
		return errUsage
	}
	var opts audit.VerifyOptions
	if anchor != "" {
		a, err := audit.ParseAnchor(anchor)
		if err != nil {
			return err
		}
		opts.Anchor = &a
	}
	k, err := key.LoadKey()
	if err != nil {
		return err
	}
	defer clear(k)

	var sum audit.Summary
	if slices.Equal(files, []string{"-"}) {
		sum, err = audit.Verify(k, []audit.Input{{Name: "stdin", R: stdin}}, opts)
	} else if slices.Contains(files, "-") {
		return errors.New("- (stdin) cannot be mixed with files")
	} else {
		sum, err = audit.VerifyFiles(k, files, opts)
	}
	var ce *audit.ChainError
	if errors.As(err, &ce) {
		return fmt.Errorf("TAMPERED: %w (%d records before it verified)", err, sum.Records)
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, sum.String())
	return err
}

func runAuditReport(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit report", "[--since T] [--by user|role|column] [--config FILE] FILE...", stderr)
	var since, by, cfgPath string
	fs.StringVar(&since, "since", "", "only records from T on: RFC 3339 time, YYYY-MM-DD (UTC), or a duration ago such as 720h")
	fs.StringVar(&by, "by", audit.ByUser, "group column access by user, role or column")
	fs.StringVar(&cfgPath, "config", "", "pgmask.toml, to list identifier columns only and the grants never used")
	files, err := parseAuditArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fs.Usage()
		return errUsage
	}
	opts := audit.ReportOptions{By: by}
	if since != "" {
		if opts.Since, err = parseSince(since, time.Now()); err != nil {
			return err
		}
	}
	if cfgPath != "" {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return err
		}
		opts.Grants, opts.Identifiers = auditGrants(cfg)
	}

	inputs, closeAll, err := openAuditInputs(files, stdin)
	if err != nil {
		return err
	}
	defer closeAll()
	rep, err := audit.BuildReport(inputs, opts)
	if err != nil {
		return err
	}
	return rep.WriteText(stdout)
}

// parseAuditArgs parses flags that may come before, between or after the file
// names, and returns the file names; everything after "--" is a file name.
func parseAuditArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return files, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(files, rest...), nil
		}
		files = append(files, rest[0])
		args = rest[1:]
	}
}

func openAuditInputs(files []string, stdin io.Reader) ([]audit.Input, func(), error) {
	var inputs []audit.Input
	var open []*os.File
	closeAll := func() {
		for _, f := range open {
			f.Close()
		}
	}
	for _, name := range files {
		if name == "-" {
			inputs = append(inputs, audit.Input{Name: "stdin", R: stdin})
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		open = append(open, f)
		inputs = append(inputs, audit.Input{Name: name, R: f})
	}
	return inputs, closeAll, nil
}

// parseSince reads --since: an RFC 3339 time, a date (midnight UTC), or a duration
// before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time, YYYY-MM-DD or a duration such as 720h", s)
}

// auditGrants returns what each role of cfg may read and the identifier columns of
// the classification, for the access review.
func auditGrants(cfg *config.Config) (map[string]audit.RoleGrants, map[string]bool) {
	identifiers := map[string]bool{}
	for table, t := range cfg.Tables {
		for col, cat := range t.Columns {
			if config.IsIdentifier(cat) {
				identifiers[table+"."+col] = true
			}
		}
	}
	out := map[string]audit.RoleGrants{}
	for name, r := range cfg.Roles {
		g := audit.RoleGrants{Tables: slices.Clone(r.Tables)}
		for _, table := range r.Tables {
			for col, cat := range cfg.Tables[table].Columns {
				if config.IsIdentifier(cat) && seesRaw(r, table+"."+col, cat) {
					g.RawColumns = append(g.RawColumns, table+"."+col)
				}
			}
		}
		slices.Sort(g.RawColumns)
		out[name] = g
	}
	return out, identifiers
}

// seesRaw reports whether role r reads column (of category cat) unmasked: a full
// profile, or "keep" for the column or its category, or a profile that keeps the
// category by default. The defaults mirror rewriter/profiles.go (limited data sets
// keep city, ZIP, dates and ages; minimum_necessary and safe_harbor keep no
// identifier); if the rewriter exports its treatments, use them instead.
func seesRaw(r config.Role, column, cat string) bool {
	if r.Profile == config.ProfileFull {
		return true
	}
	if t, ok := r.Columns[column]; ok {
		return t == "keep"
	}
	if t, ok := r.Transforms[cat]; ok {
		return t == "keep"
	}
	if r.Profile == config.ProfileLimitedDataSet {
		switch cat {
		case config.CategoryCity, config.CategoryZIP, config.CategoryBirthDate,
			config.CategoryEventDate, config.CategoryDeathDate, config.CategoryAge:
			return true
		}
	}
	return false
}
