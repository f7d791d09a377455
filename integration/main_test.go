package integration

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgmask/pgmask/integration/clinic"
	"github.com/pgmask/pgmask/integration/pgtest"
)

// cluster is the PostgreSQL cluster every test in this package shares. Its
// database "clinic" holds the clinic data set loaded with clinicOptions.
// Tests may add roles, grants and databases, but must leave the clinic data
// as they found it: other tests count on it.
var cluster *pgtest.Cluster

// clinicOptions is the size of the shared data set: small enough to load in
// well under a second.
var clinicOptions = clinic.Options{Patients: 2000}

// clinicDSN returns the URL of the shared clinic database as the superuser.
func clinicDSN() string {
	return cluster.DSN("clinic")
}

// logEnv, when set to anything, sends the server log to stderr.
const logEnv = "PGTEST_LOG"

func TestMain(m *testing.M) {
	flag.Parse() // for testing.Verbose
	os.Exit(runWithCluster(m))
}

// runWithCluster runs the tests against a fresh cluster and removes it
// afterwards. Setup failures fail the run: these tests never skip.
func runWithCluster(m *testing.M) int {
	var log io.Writer
	if os.Getenv(logEnv) != "" {
		log = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	start := time.Now()
	c, err := pgtest.Start(ctx, pgtest.Options{Log: log})
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: start PostgreSQL: %v\n", err)
		return 1
	}
	cluster = c
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "integration: stop PostgreSQL: %v\n", err)
		}
	}()
	started := time.Since(start)

	if err := loadClinic(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "integration: PostgreSQL on port %d started in %v, clinic data set loaded in %v\n",
			cluster.Port, started.Round(time.Millisecond), (time.Since(start) - started).Round(time.Millisecond))
	}
	return m.Run()
}

func loadClinic(ctx context.Context) error {
	if err := cluster.CreateDatabase(ctx, "clinic"); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, clinicDSN())
	if err != nil {
		return fmt.Errorf("connect to clinic: %w", err)
	}
	defer conn.Close(context.Background())
	return clinic.Load(ctx, conn, clinicOptions)
}
