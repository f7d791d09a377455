// Package integration holds pgmask's end-to-end tests: they run the proxy in
// front of a real PostgreSQL and check what clients actually receive.
//
// Its sub-packages are the tools those tests stand on, and `pgmask demo`
// uses them too: pgtest starts a throwaway PostgreSQL cluster (initdb and
// pg_ctl on a free port), and clinic loads a deterministic synthetic clinic
// data set (patients, encounters, notes, claims) to protect.
//
// The tests need the PostgreSQL server programs (see pgtest.BinDir). Without
// them the tests fail; they never skip. The client tests (clients_*_test.go) also
// drive pgjdbc, psycopg2, SQLAlchemy and node-postgres (testdata/clients); .ci/run
// installs them, and a missing one fails its test when CI is set and skips it
// otherwise.
package integration
