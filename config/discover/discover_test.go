package discover

import "testing"

func TestSubjectKeys(t *testing.T) {
	people := &Reference{"app", "people", "person_id"}
	tables := []Table{
		{Schema: "app", Name: "people", Columns: []Column{{Name: "person_id", Type: "integer", PrimaryKey: true}, {Name: "full_name", Type: "text"}}},
		{Schema: "app", Name: "visits", Columns: []Column{{Name: "id", Type: "integer", PrimaryKey: true}, {Name: "who", Type: "integer", References: people}}},
		{Schema: "app", Name: "customers", Columns: []Column{{Name: "cid", Type: "integer", PrimaryKey: true}, {Name: "ssn", Type: "text"}}},
		{Schema: "app", Name: "orders", Columns: []Column{{Name: "id", Type: "integer", PrimaryKey: true}, {Name: "cid", Type: "integer", References: &Reference{"app", "customers", "cid"}}}},
		{Schema: "app", Name: "labs", Columns: []Column{{Name: "id", Type: "integer"}, {Name: "PatientID", Type: "integer"}}},
		{Schema: "app", Name: "drugs", Columns: []Column{{Name: "id", Type: "integer", PrimaryKey: true}, {Name: "drug_name", Type: "text"}}},
		{Schema: "app", Name: "people_log", Columns: []Column{{Name: "person", Type: "integer", References: &Reference{"app", "people", "full_name"}}}},
	}
	want := []struct {
		key    string
		review bool
	}{
		{"person_id", false}, // a table named for individuals: its primary key
		{"who", false},       // a foreign key to it, whatever its name
		{"cid", true},        // a table with SSNs is probably of individuals
		{"cid", true},        // and so is a reference to it
		{"PatientID", true},  // a name alone
		{"", true},           // nothing about individuals
		{"", true},           // a reference to something other than the key
	}
	for i, p := range Propose(tables) {
		if p.SubjectKey != want[i].key || (p.SubjectKey != "" && p.Subject.Review() != want[i].review) {
			t.Errorf("%s: subject_key %q (%.2f: %s), want %q (review %v)", p.Name, p.SubjectKey, p.Subject.Confidence, p.Subject.Reason, want[i].key, want[i].review)
		}
		if p.SubjectKey == "" && p.Subject.Reason == "" {
			t.Errorf("%s: no reason why there is no subject_key", p.Name)
		}
	}
}
