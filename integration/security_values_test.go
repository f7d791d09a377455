package integration

import "testing"

// Bypass classes that work on values: whole-row references, functions, casts and the
// error messages they raise, and predicates that probe hidden values. Relation
// substitution must leave every clause only masked values (or none) to work on.

func TestSecurityWholeRowReferencesAndRowConstructorsCarryOnlyMaskedValues(t *testing.T) {
	p := startSecurityProxy(t, nil)
	psych := &secPsychotherapy
	secAttack(t, p, []secProbe{
		{name: "whole-row reference by alias", sql: []string{`SELECT p FROM clinic.patients p WHERE p.id = 31`}},
		{name: "whole-row reference by table name", sql: []string{`SELECT patients FROM clinic.patients WHERE id = 31`}},
		{name: "t.*", sql: []string{`SELECT p.*, p.* FROM clinic.patients p WHERE p.id = 31`}},
		{name: "(t).*", sql: []string{`SELECT (p).* FROM clinic.patients p WHERE p.id = 31`}},
		{name: "schema-qualified whole row", sql: []string{`SELECT clinic.patients FROM clinic.patients WHERE id = 31`, `SELECT clinic.patients.* FROM clinic.patients WHERE id = 31`}},
		{name: "row_to_json", sql: []string{`SELECT row_to_json(p), row_to_json(p, true) FROM clinic.patients p WHERE p.id = 31`}},
		{name: "ROW(t.*)", sql: []string{`SELECT ROW(p.*), ROW(p.*)::text FROM clinic.patients p WHERE p.id = 31`}},
		{name: "to_json and to_jsonb", sql: []string{`SELECT to_json(p), to_jsonb(p), jsonb_pretty(to_jsonb(p)) FROM clinic.patients p WHERE p.id = 31`}},
		{name: "json object functions over the row", sql: []string{`SELECT * FROM clinic.patients p, jsonb_each_text(to_jsonb(p)) WHERE p.id = 31`}},
		{name: "casts of the row (hstore-like)", sql: []string{`SELECT p::text, CAST(p AS varchar), ARRAY[p]::text, format('%s', p) FROM clinic.patients p WHERE p.id = 31`}},
		{name: "record output of a scalar subquery", sql: []string{`SELECT (SELECT p FROM clinic.patients p WHERE p.id = 31)::text`}},
		{name: "record_out", sql: []string{`SELECT pg_catalog.record_out(p) FROM clinic.patients p WHERE p.id = 31`}},
		{name: "whole row in a join", sql: []string{`SELECT p, e FROM clinic.patients p JOIN clinic.encounters e ON e.patient_id = p.id WHERE p.id = 31`}},
		{name: "whole row of notes", full: psych, sql: []string{`SELECT n FROM clinic.notes n WHERE n.patient_id = 31`}},
		{name: "json_agg of notes", full: psych, sql: []string{`SELECT json_agg(n) FROM clinic.notes n WHERE n.patient_id = 31`}},
		{name: "the row type names every column", sql: []string{
			`SELECT (NULL::clinic.patients).*`,
			`SELECT * FROM json_populate_record(NULL::clinic.patients, (SELECT row_to_json(p) FROM clinic.patients p WHERE p.id = 31))`,
		}},
	})
}

func TestSecurityFunctionsCastsAndErrorMessagesOnlySeeMaskedValues(t *testing.T) {
	p := startSecurityProxy(t, nil)
	psych := &secPsychotherapy
	phone := &secPhone
	secAttack(t, p, []secProbe{
		{name: "ssn::int", sql: []string{`SELECT ssn::int FROM clinic.patients WHERE id = 31`}},
		{name: "casts that fail and quote the value", sql: []string{
			`SELECT ssn::date FROM clinic.patients WHERE id = 31`,
			`SELECT ssn::numeric FROM clinic.patients WHERE id = 31`,
			`SELECT CAST(ssn AS uuid) FROM clinic.patients WHERE id = 31`,
			`SELECT ssn::json FROM clinic.patients WHERE id = 31`,
			`SELECT ssn::regclass FROM clinic.patients WHERE id = 31`,
			`SELECT ssn::inet FROM clinic.patients WHERE id = 31`,
		}},
		{name: "phone and email casts", full: phone, sql: []string{
			`SELECT phone::int FROM clinic.patients WHERE id = 31`,
			`SELECT email::int FROM clinic.patients WHERE id = 31`,
			`SELECT street::int FROM clinic.patients WHERE id = 31`,
		}},
		{name: "string functions", sql: []string{`SELECT lower(ssn), upper(ssn), ssn || '', format('%s|%s', ssn, phone), concat(ssn, phone),
			regexp_match(ssn, '(.*)'), regexp_replace(ssn, '-', '', 'g'), substr(ssn, 1, 11), reverse(reverse(ssn)),
			translate(ssn, 'X', 'Y'), quote_literal(ssn), ssn::bytea, encode(convert_to(ssn, 'UTF8'), 'hex'), left(email, 100)
			FROM clinic.patients WHERE id = 31`}},
		{name: "aggregates", sql: []string{`SELECT string_agg(ssn, ','), array_agg(ssn), json_agg(ssn), jsonb_agg(phone),
			xmlagg(xmlelement(name s, ssn)), max(ssn), min(phone), json_object_agg(id, ssn)
			FROM clinic.patients WHERE id BETWEEN 30 AND 32`}},
		{name: "error from a function over the value", sql: []string{
			`SELECT to_date(ssn, 'YYYY') FROM clinic.patients WHERE id = 31`,
			`SELECT xmlparse(document ssn) FROM clinic.patients WHERE id = 31`,
			`SELECT ('{"a": ' || ssn || '}')::jsonb FROM clinic.patients WHERE id = 31`,
			`SELECT make_date(split_part(ssn, '-', 1)::int, 1, 1) FROM clinic.patients WHERE id = 31`,
		}},
		{name: "date of birth text", full: &secDOB, sql: []string{`SELECT dob::text, to_char(dob, 'YYYY-MM-DD'), dob::text::int FROM clinic.patients WHERE id = 31`}},
		{name: "casts in predicates fail on masked values only", sql: []string{`SELECT id FROM clinic.patients WHERE ssn::int > 0 AND id = 31`}},
		{name: "a cast error on a filtered note", full: psych, sql: []string{
			`SELECT body::int FROM clinic.notes WHERE patient_id = 31 AND note_type = 'psychotherapy'`,
			`SELECT id FROM clinic.notes WHERE patient_id = 31 AND body::int > 0 AND note_type = 'psychotherapy'`,
		}},
	})
}

func TestSecurityPredicatesOnHiddenValuesFindNothing(t *testing.T) {
	p := startSecurityProxy(t, nil)
	secAttack(t, p, []secProbe{
		{name: "WHERE equality", oracle: "hit:1:", sql: []string{`SELECT 'hit:' || count(*) || ':' FROM clinic.patients WHERE ssn = '987-65-4329'`}},
		{name: "WHERE LIKE", oracle: "hit:1:", sql: []string{`SELECT 'hit:' || count(*) || ':' FROM clinic.patients WHERE ssn LIKE '987-65-%'`}},
		{name: "WHERE regular expression", oracle: "hit:1:", sql: []string{`SELECT 'hit:' || count(*) || ':' FROM clinic.patients WHERE ssn ~ '^987-65-432'`}},
		{name: "WHERE comparisons", oracle: "hit:1:", sql: []string{`SELECT 'hit:' || count(*) || ':' FROM clinic.patients WHERE ssn > '987-65-4328' AND ssn < '987-65-4330'`}},
		{name: "WHERE on other masked columns", oracle: "hit:1:", sql: []string{`SELECT 'hit:' || count(*) || ':' FROM clinic.patients
			WHERE phone = '555-010-4329' AND email ILIKE 'xanthippe%' AND dob = '1961-07-23'`}},
		{name: "WHERE on an excluded column", oracle: "hit:1:", sql: []string{`SELECT 'hit:' || count(*) || ':' FROM clinic.patients WHERE street LIKE '%Lighthouse%'`}},
		{name: "JOIN condition", oracle: "hit:1:", sql: []string{`SELECT 'hit:' || count(*) || ':' FROM clinic.patients p JOIN (VALUES ('987-65-4329')) v(s) ON p.ssn = v.s`}},
		{name: "JOIN with another table", oracle: "hit:1:", sql: []string{`SELECT 'hit:' || count(DISTINCT p.id) || ':' FROM clinic.encounters e JOIN clinic.patients p ON e.patient_id = p.id AND p.ssn = '987-65-4329'`}},
		{name: "ORDER BY", oracle: "first:31:", sql: []string{`SELECT 'first:' || id || ':' FROM clinic.patients ORDER BY ssn = '987-65-4329' DESC, id LIMIT 1`}},
		{name: "GROUP BY", oracle: "grp:1:", sql: []string{`SELECT 'grp:' || count(*) || ':' FROM clinic.patients GROUP BY ssn = '987-65-4329' HAVING bool_or(ssn = '987-65-4329')`}},
		{name: "HAVING", oracle: "hav:1:", sql: []string{`SELECT 'hav:' || count(*) FILTER (WHERE ssn = '987-65-4329') || ':' FROM clinic.patients HAVING count(*) FILTER (WHERE ssn = '987-65-4329') > 0`}},
		{name: "DISTINCT ON", oracle: "don:true:", sql: []string{`SELECT DISTINCT ON (ssn = '987-65-4329') 'don:' || (ssn = '987-65-4329') || ':' FROM clinic.patients ORDER BY ssn = '987-65-4329' DESC`}},
		{name: "window function", oracle: "win:1:", sql: []string{`SELECT 'win:' || sum((ssn = '987-65-4329')::int) OVER () || ':' FROM clinic.patients LIMIT 1`}},
		{name: "EXISTS subquery", oracle: "ex:true:", sql: []string{`SELECT 'ex:' || EXISTS (SELECT 1 FROM clinic.patients WHERE ssn = '987-65-4329') || ':'`}},
		{name: "IN subquery", oracle: "in:1:", sql: []string{`SELECT 'in:' || count(DISTINCT patient_id) || ':' FROM clinic.encounters WHERE patient_id IN (SELECT id FROM clinic.patients WHERE ssn = '987-65-4329')`}},
		{name: "psychotherapy notes by type", oracle: "psy:true:", sql: []string{`SELECT 'psy:' || (count(*) > 0) || ':' FROM clinic.notes WHERE note_type = 'psychotherapy'`}},
		{name: "psychotherapy notes by content", oracle: "psy:true:", sql: []string{`SELECT 'psy:' || (count(*) > 0) || ':' FROM clinic.notes WHERE body LIKE '%canary-psychotherapy%'`}},
		{name: "psychotherapy notes by key", oracle: "psy:true:", sql: []string{`SELECT 'psy:' || (count(*) > 0) || ':' FROM clinic.notes n WHERE n.id IN (SELECT id FROM clinic.notes WHERE note_type = 'psychotherapy' AND patient_id = 31) AND n.patient_id = 31`}},
		{name: "the SSN inside a note", oracle: "hit:1:", sql: []string{`SELECT 'hit:' || count(DISTINCT patient_id) || ':' FROM clinic.notes WHERE body LIKE '%987-65-4329%'`}},
	})
}
