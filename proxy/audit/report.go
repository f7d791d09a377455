package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Access review (issue 6, item 5): who touched which identifier columns and how, what
// was denied, who broke the glass and why, and which grants went unused — candidates
// for narrowing a role, as minimum necessary asks (45 CFR 164.514(d)).

// Report groupings (ReportOptions.By).
const (
	ByUser   = "user"
	ByRole   = "role"
	ByColumn = "column"
)

// RoleGrants is what a role may read, from the policy.
type RoleGrants struct {
	Tables     []string // "schema.table"
	RawColumns []string // "schema.table.column" of identifier columns the role sees raw
}

// ReportOptions tune BuildReport.
type ReportOptions struct {
	// Since drops records before it; zero keeps all.
	Since time.Time
	// By groups column access by user (the default), role or column.
	By string
	// Identifiers, if not nil, holds the identifier columns ("schema.table.column");
	// access to other columns is left out. Nil reports every column.
	Identifiers map[string]bool
	// Grants, if not nil, holds every role's grants, for the unused-grants section.
	Grants map[string]RoleGrants
}

// Report is the result of BuildReport.
type Report struct {
	opts           ReportOptions
	Files          int
	Records        int // records in the period
	First, Last    time.Time
	columns        map[string]map[accessKey]int // group → access → statements
	denials        map[denialKey]*span
	authFailures   map[denialKey]*span
	breakGlass     []Record
	usedTables     map[string]map[string]bool // role → relation
	usedRaw        map[string]map[string]bool // role → column
	roleStatements map[string]int
}

type accessKey struct{ item, treatment string }

type denialKey struct{ user, role, sqlstate, reason string }

type span struct {
	n           int
	first, last time.Time
}

// BuildReport reads the records of inputs (without verifying them: run Verify for
// that) and aggregates those in the period.
func BuildReport(inputs []Input, opts ReportOptions) (*Report, error) {
	switch opts.By {
	case "":
		opts.By = ByUser
	case ByUser, ByRole, ByColumn:
	default:
		return nil, fmt.Errorf("audit report: --by wants user, role or column, got %q", opts.By)
	}
	r := &Report{
		opts:           opts,
		Files:          len(inputs),
		columns:        map[string]map[accessKey]int{},
		denials:        map[denialKey]*span{},
		authFailures:   map[denialKey]*span{},
		usedTables:     map[string]map[string]bool{},
		usedRaw:        map[string]map[string]bool{},
		roleStatements: map[string]int{},
	}
	for _, in := range inputs {
		br := bufio.NewReaderSize(in.R, 64<<10)
		for no := 1; ; no++ {
			text, err := br.ReadBytes('\n')
			if len(strings.TrimSpace(string(text))) > 0 {
				var rec Record
				if jerr := json.Unmarshal(text, &rec); jerr != nil {
					if !errors.Is(err, io.EOF) { // a last line cut short is skipped
						return nil, fmt.Errorf("%s:%d: not an audit record: %v", in.Name, no, jerr)
					}
				} else {
					r.add(&rec)
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", in.Name, err)
			}
		}
	}
	sort.Slice(r.breakGlass, func(i, j int) bool { return r.breakGlass[i].Seq < r.breakGlass[j].Seq })
	return r, nil
}

func (r *Report) add(rec *Record) {
	if rec.Time.Before(r.opts.Since) || rec.Kind == KindCheckpoint {
		return
	}
	r.Records++
	if r.First.IsZero() || rec.Time.Before(r.First) {
		r.First = rec.Time
	}
	if rec.Time.After(r.Last) {
		r.Last = rec.Time
	}
	switch rec.Kind {
	case KindStatement:
		r.statement(rec)
	case KindDenial:
		count(r.denials, denialKey{rec.User, rec.Role, rec.SQLState, rec.Reason}, rec.Time)
	case KindAuthFailure:
		count(r.authFailures, denialKey{user: rec.User, reason: rec.Reason}, rec.Time)
	case KindBreakGlassStart, KindBreakGlassEnd:
		r.breakGlass = append(r.breakGlass, *rec)
	}
}

func (r *Report) statement(rec *Record) {
	r.roleStatements[rec.Role]++
	seen := map[accessKey]bool{} // count each column once per statement
	for _, a := range rec.Access {
		setAdd(r.usedTables, rec.Role, a.Relation)
		if a.Column == "" || a.Treatment == TreatmentExcluded || a.Treatment == TreatmentFiltered {
			continue
		}
		col := a.Relation + "." + a.Column
		if a.Treatment == TreatmentRaw {
			setAdd(r.usedRaw, rec.Role, col)
		}
		if r.opts.Identifiers != nil && !r.opts.Identifiers[col] {
			continue
		}
		group, item := rec.User, col
		switch r.opts.By {
		case ByRole:
			group = rec.Role
		case ByColumn:
			group, item = col, rec.User+" ("+rec.Role+")"
		}
		k := accessKey{item, a.Treatment}
		if seen[k] {
			continue
		}
		seen[k] = true
		if r.columns[group] == nil {
			r.columns[group] = map[accessKey]int{}
		}
		r.columns[group][k]++
	}
}

func count(m map[denialKey]*span, k denialKey, t time.Time) {
	s := m[k]
	if s == nil {
		s = &span{first: t}
		m[k] = s
	}
	s.n++
	if t.Before(s.first) {
		s.first = t
	}
	if t.After(s.last) {
		s.last = t
	}
}

func setAdd(m map[string]map[string]bool, k, v string) {
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][v] = true
}
