package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pgmask/pgmask/proxy/scram"
)

// runPasswd reads one password line from stdin and prints its SCRAM-SHA-256 verifier,
// in PostgreSQL's own format, ready to paste into [users.NAME] password.
func runPasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("passwd", "[--iterations N] < password", stderr)
	iterations := fs.Int("iterations", 4096, "PBKDF2 iterations (PostgreSQL's default is 4096)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return errors.New("no password on standard input (example: echo 'secret' | pgmask passwd)")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	v, err := scram.NewVerifier(password, salt, *iterations)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, v.String())
	return nil
}
