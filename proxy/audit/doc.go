// Package audit is pgmask's disclosure log: one JSON record per statement and per
// session event, saying who disclosed what and how, chained with a keyed MAC so that an
// edit, a deletion, an insertion or a reordering of records can be proven afterwards.
//
// It sits inside proxy in the data flow config → rewriter → proxy → cmd/pgmask: sessions
// build records with the constructors in events.go and hand them to a Logger, which
// seals them into the chain (chain.go) in one goroutine and writes them in batches to a
// Sink (a file, or a PostgreSQL table). The Logger fails closed: when the sink fails or
// falls behind, Healthy and Log return an error and the proxy stops disclosing until the
// sink recovers.
//
// The package must never see PHI. A Record has no field for raw SQL text, bind values,
// result data or upstream error messages: statement text reaches it only as an SQL
// value, which Normalize makes by replacing every literal and comment, and free text
// (denial reasons) is sanitized the same way. Verification (Verify) and access review
// (BuildReport) read the records back; `pgmask audit verify` and `pgmask audit report`
// are their command-line faces.
package audit
