package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// BinDirEnv names an environment variable that, when set, is the only place
// BinDir looks: for machines with several PostgreSQL versions installed.
const BinDirEnv = "PGTEST_BINDIR"

// serverTools are the programs a cluster needs. pg_ctl starts the server by
// running "postgres" from its own directory, so all three must sit together.
var serverTools = []string{"initdb", "pg_ctl", "postgres"}

// BinDir returns the directory holding initdb, pg_ctl and postgres: $PGTEST_BINDIR
// if set, else the directory of initdb on PATH, else the highest version under
// /usr/lib/postgresql/*/bin (where Debian and Ubuntu install them, off PATH).
// When none is found the error says what to install; tests must fail on it,
// never skip, so a CI machine without PostgreSQL cannot pass silently.
func BinDir() (string, error) {
	if dir := os.Getenv(BinDirEnv); dir != "" {
		if missing := missingTools(dir); len(missing) > 0 {
			return "", fmt.Errorf("pgtest: $%s=%s lacks %s", BinDirEnv, dir, strings.Join(missing, ", "))
		}
		return dir, nil
	}
	return findBinDir("/usr/lib/postgresql/*/bin")
}

// findBinDir is BinDir without the environment override; pattern is the
// glob of versioned install directories.
func findBinDir(pattern string) (string, error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(initdb)
		if len(missingTools(dir)) == 0 {
			return dir, nil
		}
	}
	candidates, err := filepath.Glob(pattern)
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	best, bestVersion := "", -1.0
	for _, dir := range candidates {
		if len(missingTools(dir)) > 0 {
			continue
		}
		// The version is the directory above bin: /usr/lib/postgresql/15/bin.
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		if err != nil {
			continue
		}
		if v > bestVersion {
			best, bestVersion = dir, v
		}
	}
	if best == "" {
		return "", errors.New("pgtest: PostgreSQL server programs (initdb, pg_ctl, postgres) not found " +
			"on PATH or under " + pattern + "; install the PostgreSQL server package " +
			"(e.g. apt-get install postgresql) or set $" + BinDirEnv)
	}
	return best, nil
}

func missingTools(dir string) []string {
	var missing []string
	for _, tool := range serverTools {
		info, err := os.Stat(filepath.Join(dir, tool))
		if err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			missing = append(missing, tool)
		}
	}
	return missing
}
