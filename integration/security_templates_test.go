package integration

import (
	"bufio"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/pgmask/pgmask/integration/clinic"
)

// Simple-protocol statements that differ only in their literals share one cached
// rewrite: from the second statement of a shape on, pgmask splices the literals into a
// template instead of parsing (rewriter/README.md, "The rewrite cache"). These attacks
// run one shape with many values, the canary patient's and the canary SSN among them,
// so that the values that matter are the ones served from a template.
func TestSecurityRewritesServedFromATemplateStayMasked(t *testing.T) {
	p := startSecurityProxy(t, nil)
	var lookups, guesses []string
	for id := clinic.PatientCanary - 4; id <= clinic.PatientCanary; id++ {
		lookups = append(lookups, fmt.Sprintf("SELECT * FROM clinic.patients WHERE id = %d", id))
	}
	for _, ssn := range []string{"000-00-0001", "000-00-0002", "000-00-0003", clinic.CanarySSN} {
		guesses = append(guesses, "SELECT 'hit:' || count(*) || ':' FROM clinic.patients WHERE ssn = '"+ssn+"'")
	}

	// The lookups, as one restricted user: two rewrites (the second learns the
	// template), then three statements served from it, the canary patient's last.
	conn, rec := p.connect(t, secRestrictedUsers[0])
	before := p.cacheHits(t)
	for _, sql := range lookups {
		if _, err := secExec(conn, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if hits := p.cacheHits(t) - before; hits != 3 {
		t.Errorf("%d of the lookups were cache hits, want 3 (served from the template)", hits)
	}
	role := p.cfg.Users[secRestrictedUsers[0]].Role
	secAssertNoCanary(t, role, "lookups served from a template", rec.Bytes())

	secAttack(t, p, []secProbe{
		{name: "point lookups of every patient up to the canary", sql: lookups},
		{name: "guesses of a hidden value", oracle: "hit:1:", sql: guesses},
	})
}

// cacheHits reads pgmask_rewrite_cache_hits_total from p's metrics.
func (p *secProxy) cacheHits(t testing.TB) uint64 {
	t.Helper()
	w := httptest.NewRecorder()
	p.srv.MetricsHandler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "pgmask_rewrite_cache_hits_total "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("pgmask_rewrite_cache_hits_total %q: %v", v, err)
			}
			return uint64(n)
		}
	}
	t.Fatal("no pgmask_rewrite_cache_hits_total in the metrics")
	return 0
}
