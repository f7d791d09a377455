// Package discover proposes a classification of a database's columns — the [tables]
// section of pgmask.toml — from what `pgmask scan` read: column names, SQL types, keys
// and a bounded sample of values. It sits beside config, whose categories and file
// format it produces, before anything the proxy runs: a proposal is reviewed by a
// person and only then becomes policy.
//
// It is pure: it does no I/O and keeps no sampled value. Values are PHI, so they are
// reduced to counts of patterns as soon as they are examined, and a reason never
// quotes one.
package discover

import (
	"slices"

	"github.com/pgmask/pgmask/config"
)

// Table is what Propose knows about one relation.
type Table struct {
	Schema, Name string
	Columns      []Column // in the table's column order
	// Note says why values were not sampled ("permission denied"), if they were not.
	Note string
}

// TableProposal is the proposed classification of one table.
type TableProposal struct {
	Schema, Name string
	Columns      []ColumnProposal
	// SubjectKey is the proposed subject_key ("" for none), Subject why.
	SubjectKey string
	Subject    Guess // Category unused
	Note       string
}

// ColumnProposal is the proposed category of one column.
type ColumnProposal struct {
	Name string
	Guess
}

// Propose classifies every column of every table and proposes each table's
// subject_key. The result is in the order of tables.
func Propose(tables []Table) []TableProposal {
	out := make([]TableProposal, len(tables))
	for i, t := range tables {
		p := TableProposal{Schema: t.Schema, Name: t.Name, Note: t.Note}
		for _, c := range t.Columns {
			p.Columns = append(p.Columns, ColumnProposal{c.Name, Classify(c)})
		}
		out[i] = p
	}
	subjects := subjectTables(tables, out)
	for i, t := range tables {
		out[i].SubjectKey, out[i].Subject = subjectKey(t, out[i], subjects)
	}
	return out
}

// subjectWords name tables whose rows are individuals.
var subjectWords = set("patient", "patients", "person", "persons", "people", "individual",
	"individuals", "member", "members", "client", "clients", "subject", "subjects",
	"beneficiary", "beneficiaries", "enrollee", "enrollees", "resident", "residents")

// subject is a table whose rows are individuals, and how sure that is.
type subject struct {
	key  string // its single-column primary key
	conf float64
	why  string
}

// subjectTables finds the tables whose rows are individuals: named like it (patients),
// or holding the identifiers only an individual has (a date of birth, an SSN). Each
// needs a single-column primary key to be referred to.
func subjectTables(tables []Table, props []TableProposal) map[[2]string]subject {
	out := map[[2]string]subject{}
	for i, t := range tables {
		out[[2]string{t.Schema, t.Name}] = subject{} // scanned, not (yet) known to be of individuals
		pk := ""
		for _, c := range t.Columns {
			if c.PrimaryKey {
				pk = c.Name
			}
		}
		if pk == "" {
			continue
		}
		ws := words(t.Name)
		personal := slices.ContainsFunc(props[i].Columns, func(c ColumnProposal) bool {
			return c.Category == config.CategoryBirthDate || c.Category == config.CategorySSN
		})
		switch {
		case len(ws) > 0 && subjectWords[ws[len(ws)-1]]:
			out[[2]string{t.Schema, t.Name}] = subject{pk, 0.95, "a table of individuals"}
		case personal:
			out[[2]string{t.Schema, t.Name}] = subject{pk, 0.7, "a table with dates of birth or SSNs, probably of individuals"}
		}
	}
	return out
}

// scanned reports whether the table r refers to was among those proposed for.
func scanned(subjects map[[2]string]subject, r *Reference) bool {
	_, ok := subjects[[2]string{r.Schema, r.Table}]
	return ok
}

// patientKeyNames are names of columns that usually hold the patient's key.
var patientKeyNames = set("patientid", "patientkey", "personid", "subjectid", "patientno")

// subjectKey proposes the subject_key of one table: its foreign key to a table of
// individuals, or its own primary key if it is one, or a column named like a patient
// key.
func subjectKey(t Table, p TableProposal, subjects map[[2]string]subject) (string, Guess) {
	for _, c := range t.Columns {
		r := c.References
		if r == nil {
			continue
		}
		if s, ok := subjects[[2]string{r.Schema, r.Table}]; ok && s.key != "" && s.key == r.Column {
			return c.Name, Guess{Confidence: s.conf, Reason: "references " + r.Schema + "." + r.Table + " (" + r.Column + "), " + s.why}
		}
	}
	// A reference to a table that was not scanned (another schema): judge it by its name.
	for _, c := range t.Columns {
		if r := c.References; r != nil && !scanned(subjects, r) {
			if ws := words(r.Table); len(ws) > 0 && subjectWords[ws[len(ws)-1]] {
				return c.Name, Guess{Confidence: 0.85, Reason: "references " + r.Schema + "." + r.Table + " (" + r.Column + "), named like a table of individuals"}
			}
		}
	}
	if s := subjects[[2]string{t.Schema, t.Name}]; s.key != "" {
		return s.key, Guess{Confidence: s.conf, Reason: "the primary key of " + s.why}
	}
	for _, c := range t.Columns {
		joined := ""
		for _, w := range words(c.Name) {
			joined += w
		}
		if patientKeyNames[joined] {
			return c.Name, Guess{Confidence: 0.7, Reason: "named like a patient key, but no foreign key says so"}
		}
	}
	return "", Guess{Reason: "no column refers to a table of individuals"}
}
