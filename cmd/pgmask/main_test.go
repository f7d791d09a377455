package main

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/pgmask/pgmask/proxy/scram"
)

// pgmask runs the command line as main would and returns the exit code and outputs.
func pgmask(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// commandFlags are flags each command's --help must mention. Commands not listed only
// need to print their usage line.
var commandFlags = map[string][]string{
	"serve":  {"-config", "-log-level", "-log-format"},
	"demo":   {"-listen", "-patients", "-upstream-dsn", "-log-level"},
	"passwd": {"-iterations"},
}

func TestEveryCommandPrintsItsHelpAndExitsZero(t *testing.T) {
	for _, c := range commands() {
		for _, help := range []string{"--help", "-h"} {
			t.Run(c.name+" "+help, func(t *testing.T) {
				code, stdout, stderr := pgmask("", c.name, help)
				if code != 0 {
					t.Errorf("exit code %d, want 0", code)
				}
				out := stdout + stderr
				if !strings.Contains(out, "Usage: pgmask "+c.name) {
					t.Errorf("the help does not start with the usage line:\n%s", out)
				}
				for _, f := range commandFlags[c.name] {
					if !strings.Contains(out, f) {
						t.Errorf("the help does not mention %s:\n%s", f, out)
					}
				}
			})
		}
	}
}

func TestTheTopLevelHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, stdout, _ := pgmask("", args...)
		if code != 0 {
			t.Errorf("pgmask %s: exit code %d, want 0", args[0], code)
		}
		for _, c := range commands() {
			if !strings.Contains(stdout, "  "+c.name) || !strings.Contains(stdout, c.summary) {
				t.Errorf("pgmask %s does not list %q with its summary:\n%s", args[0], c.name, stdout)
			}
		}
	}
}

func TestPgmaskWithoutACommandPrintsUsageAndExitsTwo(t *testing.T) {
	code, stdout, stderr := pgmask("")
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if !strings.Contains(stdout+stderr, "Usage: pgmask <command>") {
		t.Errorf("no usage printed:\n%s%s", stdout, stderr)
	}
}

func TestAnUnknownCommandExitsTwoAndNamesIt(t *testing.T) {
	for _, name := range []string{"frobnicate", "Serve", "--config", ""} {
		code, stdout, stderr := pgmask("", name)
		if code != 2 {
			t.Errorf("pgmask %q: exit code %d, want 2", name, code)
		}
		if !strings.Contains(stderr, `unknown command "`+name+`"`) || !strings.Contains(stderr, "Usage: pgmask <command>") {
			t.Errorf("pgmask %q: stderr does not name the command and show the usage:\n%s", name, stderr)
		}
		if stdout != "" {
			t.Errorf("pgmask %q printed on stdout: %q", name, stdout)
		}
	}
}

func TestAnUnknownFlagExitsTwoForEveryCommand(t *testing.T) {
	for _, c := range commands() {
		code, _, stderr := pgmask("secret\n", c.name, "--no-such-flag")
		if code != 2 {
			t.Errorf("pgmask %s --no-such-flag: exit code %d, want 2", c.name, code)
		}
		if !strings.Contains(stderr, "no-such-flag") {
			t.Errorf("pgmask %s --no-such-flag does not name the flag:\n%s", c.name, stderr)
		}
	}
}

func TestPasswdPrintsTheVerifierOfThePasswordOnStdin(t *testing.T) {
	code, stdout, stderr := pgmask("correct horse battery staple\n", "passwd", "--iterations", "4096")
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	line := strings.TrimSuffix(stdout, "\n")
	v, err := scram.ParseVerifier(line)
	if err != nil {
		t.Fatalf("pgmask passwd printed %q, not a SCRAM verifier: %v", stdout, err)
	}
	// Recompute the verifier from the printed salt: the same password gives the same keys.
	salt, err := base64.StdEncoding.DecodeString(strings.Split(strings.Split(line, "$")[1], ":")[1])
	if err != nil {
		t.Fatal(err)
	}
	want, err := scram.NewVerifier("correct horse battery staple", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != want.String() {
		t.Errorf("verifier %s is not the one of the password on stdin (%s)", v, want)
	}

	code, _, stderr = pgmask("", "passwd")
	if code != 1 || !strings.Contains(stderr, "no password") {
		t.Errorf("passwd with empty stdin: exit code %d, stderr %q; want 1 and an explanation", code, stderr)
	}
}

func TestServeFailsWithExitCodeOneOnAMissingConfigFile(t *testing.T) {
	path := t.TempDir() + "/missing.toml"
	code, _, stderr := pgmask("", "serve", "--config", path)
	if code != 1 || !strings.Contains(stderr, "missing.toml") {
		t.Errorf("exit code %d, stderr %q; want 1 naming the file", code, stderr)
	}
}
