package clinic

// tablesDDL creates the schema and its tables, without the indexes and
// foreign keys: Load adds those after COPY, which is faster than checking
// every row on the way in.
const tablesDDL = `DROP SCHEMA IF EXISTS clinic CASCADE;
CREATE SCHEMA clinic;

CREATE TABLE clinic.patients (
    id         bigint PRIMARY KEY,
    first_name text NOT NULL,
    last_name  text NOT NULL,
    ssn        text NOT NULL,        -- 123-45-6789
    mrn        text NOT NULL,        -- MRN00001234
    dob        date NOT NULL,
    street     text,                 -- NULL or '' for some patients
    city       text NOT NULL,
    state      text NOT NULL,        -- two letters
    zip        text NOT NULL,        -- five digits
    phone      text,                 -- 555-123-4567; NULL or '' for some
    email      text,                 -- NULL or '' for some
    sex        text NOT NULL         -- F, M or X
);

CREATE TABLE clinic.encounters (
    id              bigint PRIMARY KEY,
    patient_id      bigint NOT NULL,
    admitted_at     timestamptz NOT NULL,
    discharged_at   timestamptz,     -- NULL while admitted
    diagnosis_codes text[] NOT NULL, -- ICD-10-CM, e.g. {E11.9,I10}
    provider        text NOT NULL
);

CREATE TABLE clinic.notes (
    id           bigint PRIMARY KEY,
    patient_id   bigint NOT NULL,
    encounter_id bigint,             -- NULL for notes outside an encounter
    note_type    text NOT NULL,      -- progress, discharge, radiology, psychotherapy, nursing, telephone, consult
    body         text NOT NULL,      -- free text; may quote a phone number or an SSN-like pattern
    written_at   timestamptz NOT NULL
);

CREATE TABLE clinic.claims (
    id             bigint PRIMARY KEY,
    patient_id     bigint NOT NULL,
    account_number text NOT NULL,
    amount         numeric(12,2) NOT NULL,
    billed_on      date NOT NULL
);
`

// constraintsDDL runs after the data is in.
const constraintsDDL = `CREATE UNIQUE INDEX patients_mrn_key ON clinic.patients (mrn);
ALTER TABLE clinic.encounters ADD FOREIGN KEY (patient_id) REFERENCES clinic.patients;
ALTER TABLE clinic.notes ADD FOREIGN KEY (patient_id) REFERENCES clinic.patients;
ALTER TABLE clinic.notes ADD FOREIGN KEY (encounter_id) REFERENCES clinic.encounters;
ALTER TABLE clinic.claims ADD FOREIGN KEY (patient_id) REFERENCES clinic.patients;
CREATE INDEX encounters_patient_id_idx ON clinic.encounters (patient_id);
CREATE INDEX notes_patient_id_idx ON clinic.notes (patient_id);
CREATE INDEX claims_patient_id_idx ON clinic.claims (patient_id);
`

// Schema returns the DDL of the clinic schema, in the order Load applies it
// (tables, then the data, then indexes and foreign keys). It starts with
// DROP SCHEMA IF EXISTS clinic CASCADE.
func Schema() string {
	return tablesDDL + "\n-- Load copies the data in here.\n\n" + constraintsDDL
}
