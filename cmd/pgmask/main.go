// Command pgmask is a PostgreSQL proxy that enforces HIPAA "minimum necessary" per
// role: it rewrites every statement so that each caller sees only the columns and rows
// its role may see, raw, masked or not at all.
//
// It is the last step of the data flow config → rewriter → proxy → cmd/pgmask and only
// wires the packages together: flags, signals, logging.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// command is one pgmask subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the proxy with a configuration file", runServe},
		{"demo", "start a throwaway PostgreSQL with clinic data and pgmask in front of it", runDemo},
		{"passwd", "print the SCRAM-SHA-256 verifier of a password read from stdin", runPasswd},
		{"audit", "verify the audit log's chain, or review who accessed what", runAudit},
		{"check", "validate a configuration file against the live database schema", runCheck},
		{"explain", "show the SQL pgmask sends upstream for a statement of a role, or why it refuses it", runExplain},
		{"init", "create pgmask's table of re-identification codes upstream and give every subject a code", runInit},
		{"scan", "propose a classification of every column from names, types and sampled values", runScan},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(args[1:], stdin, stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			default:
				fmt.Fprintf(stderr, "pgmask %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "pgmask: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "pgmask — a PostgreSQL proxy that enforces HIPAA minimum necessary per role.")
	fmt.Fprintln(w, "\nUsage: pgmask <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'pgmask <command> --help' for a command's flags.")
}

// errUsage is returned after a flag error has already been printed.
var errUsage = errors.New("usage error")

// newFlagSet makes a FlagSet whose --help text names the command.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("pgmask "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: pgmask %s %s\n\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and maps flag errors to errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// logFlags are the logging flags every long-running command has.
type logFlags struct{ level, format string }

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&l.format, "log-format", "text", "log format: text or json")
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(l.format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: want text or json, got %q", l.format)
}
