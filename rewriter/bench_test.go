package rewriter

import (
	"strconv"
	"strings"
	"testing"
)

// biQuery is a realistic 3 KB dashboard query over the clinic tables: CTEs, joins,
// window functions, aggregates with FILTER, a sublink and a set operation.
const biQuery = `WITH visit_counts AS (
    SELECT e.patient_id,
           count(*) AS visits,
           count(*) FILTER (WHERE e.discharged_at IS NULL) AS open_visits,
           max(e.id) AS last_encounter,
           array_agg(DISTINCT code ORDER BY code) AS codes
    FROM clinic.encounters e
    CROSS JOIN LATERAL unnest(e.diagnosis_codes) AS code
    WHERE e.provider IS NOT NULL
    GROUP BY e.patient_id
),
note_stats AS (
    SELECT n.patient_id,
           n.note_type,
           count(*) AS notes,
           sum(length(n.body)) AS note_chars,
           row_number() OVER (PARTITION BY n.patient_id ORDER BY count(*) DESC, n.note_type) AS rank_in_patient
    FROM clinic.notes n
    WHERE n.note_type IN ('progress', 'discharge', 'radiology', 'nursing', 'consult')
    GROUP BY n.patient_id, n.note_type
),
top_notes AS (
    SELECT patient_id, note_type AS top_note_type, notes AS top_note_count
    FROM note_stats
    WHERE rank_in_patient = 1
),
patient_base AS (
    SELECT p.id,
           p.sex,
           p.state,
           date_part('year', p.dob) AS birth_year,
           upper(left(p.last_name, 1)) AS initial,
           CASE WHEN p.email IS NULL THEN 'none' ELSE split_part(p.email, '@', 2) END AS email_domain,
           CASE WHEN p.phone IS NULL OR p.phone = '' THEN 'no phone' ELSE 'phone' END AS phone_status,
           CASE p.sex WHEN 'F' THEN 'female' WHEN 'M' THEN 'male' ELSE 'other' END AS sex_label
    FROM clinic.patients p
    WHERE p.state IS NOT NULL AND p.state <> '' AND p.id > 0
      AND p.mrn LIKE 'MRN%' AND coalesce(p.first_name, '') <> 'test'
)
SELECT b.state,
       b.sex,
       b.birth_year,
       count(DISTINCT b.id) AS patients,
       sum(coalesce(v.visits, 0)) AS visits,
       sum(coalesce(v.open_visits, 0)) AS open_visits,
       avg(coalesce(v.visits, 0))::numeric(10, 2) AS visits_per_patient,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(v.visits, 0)) AS median_visits,
       max(t.top_note_count) AS max_top_notes,
       string_agg(DISTINCT t.top_note_type, ', ' ORDER BY t.top_note_type) AS note_types,
       sum(count(DISTINCT b.id)) OVER (PARTITION BY b.state) AS state_patients,
       rank() OVER (PARTITION BY b.state ORDER BY count(DISTINCT b.id) DESC) AS state_rank,
       round(100.0 * count(DISTINCT b.id) / nullif(sum(count(DISTINCT b.id)) OVER (), 0), 2) AS pct_of_all,
       lag(count(DISTINCT b.id)) OVER (PARTITION BY b.state ORDER BY b.birth_year) AS prev_cohort,
       bool_or(EXISTS (SELECT 1 FROM clinic.vitals vi WHERE vi.patient_id = b.id AND vi.heart_rate > 100)) AS any_tachycardia
FROM patient_base b
LEFT JOIN visit_counts v ON v.patient_id = b.id
LEFT JOIN top_notes t ON t.patient_id = b.id
WHERE b.birth_year BETWEEN 1920 AND 2020
  AND b.id NOT IN (SELECT d.patient_id FROM clinic.devices d WHERE d.kind = 'test')
GROUP BY b.state, b.sex, b.birth_year
HAVING count(DISTINCT b.id) >= 1
UNION ALL
SELECT 'ALL', NULL, NULL, count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM clinic.patients
ORDER BY 1, 2, 3
LIMIT 500`

const shortQuery = "SELECT ssn FROM clinic.patients WHERE id = $1"

func TestBenchmarkQueriesRewrite(t *testing.T) {
	if n := len(biQuery); n < 2900 || n > 3300 {
		t.Errorf("biQuery is %d bytes, want about 3 KB", n)
	}
	for _, q := range []string{biQuery, shortQuery} {
		r := rewriteAs(t, "support", q)
		if r.Denial != nil || r.Unchanged || !strings.Contains(r.SQL, "FROM ONLY clinic.patients") {
			t.Fatalf("%q: %+v", q[:30], r)
		}
		p, cat := fixture(t)
		if err := checkInvariants(r.SQL, ctx("support"), p, cat); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkCacheHit(b *testing.B) {
	p, cat := fixture(b)
	c := NewCache(1000)
	cx := ctx("support")
	c.Rewrite(biQuery, cx, p, cat)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := c.Rewrite(biQuery, cx, p, cat); r.Denial != nil {
			b.Fatal(r.Denial)
		}
	}
}

func BenchmarkMissShort(b *testing.B) {
	p, cat := fixture(b)
	cx := ctx("support")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if r := Rewrite(shortQuery, cx, p, cat); r.Denial != nil {
			b.Fatal(r.Denial)
		}
	}
}

func BenchmarkMiss3KB(b *testing.B) {
	p, cat := fixture(b)
	cx := ctx("support")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if r := Rewrite(biQuery, cx, p, cat); r.Denial != nil {
			b.Fatal(r.Denial)
		}
	}
}

func BenchmarkFullProfile(b *testing.B) {
	p, cat := fixture(b)
	cx := ctx("clinician")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Rewrite(biQuery, cx, p, cat)
	}
}

// BenchmarkTemplateHit is a simple-protocol point lookup whose literal changes with
// every statement, as pgbench -M simple sends them: served from a learnt template.
func BenchmarkTemplateHit(b *testing.B) {
	p, cat := fixture(b)
	c := NewCache(1000)
	cx := ctx("support")
	sqls := make([]string, 1024)
	for i := range sqls {
		sqls[i] = "SELECT id, ssn, dob FROM clinic.patients WHERE id = " + strconv.Itoa(i+1)
	}
	c.Rewrite(sqls[0], cx, p, cat)
	c.Rewrite(sqls[1], cx, p, cat)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := c.Rewrite(sqls[i%len(sqls)], cx, p, cat); r.Denial != nil {
			b.Fatal(r.Denial)
		}
	}
	if hits, misses := c.Stats(); misses != 2 || hits < uint64(b.N) {
		b.Fatalf("%d hits, %d misses: the template was not used", hits, misses)
	}
}
