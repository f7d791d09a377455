-- The schema that rewriter/testdata/catalog.json was loaded from (with
-- proxy/catalog.Load against PostgreSQL 15): the clinic demo tables plus the extras
-- the rewriter's tests need (a view over patients, a partitioned table, an
-- inheritance child, tables in public, a function and an operator in public).
CREATE SCHEMA clinic;

CREATE TABLE clinic.patients (
    id bigint PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL,
    ssn text NOT NULL, mrn text NOT NULL, dob date NOT NULL, street text,
    city text NOT NULL, state text NOT NULL, zip text NOT NULL, phone text,
    email text, sex text NOT NULL);
CREATE UNIQUE INDEX patients_mrn_key ON clinic.patients (mrn);
CREATE TABLE clinic.encounters (
    id bigint PRIMARY KEY, patient_id bigint NOT NULL REFERENCES clinic.patients,
    admitted_at timestamptz NOT NULL, discharged_at timestamptz,
    diagnosis_codes text[] NOT NULL, provider text NOT NULL);
CREATE TABLE clinic.notes (
    id bigint PRIMARY KEY, patient_id bigint NOT NULL REFERENCES clinic.patients,
    encounter_id bigint REFERENCES clinic.encounters, note_type text NOT NULL,
    body text NOT NULL, written_at timestamptz NOT NULL);
CREATE INDEX notes_patient_id_idx ON clinic.notes (patient_id);
CREATE TABLE clinic.claims (
    id bigint PRIMARY KEY, patient_id bigint NOT NULL REFERENCES clinic.patients,
    account_number text NOT NULL, amount numeric(12,2) NOT NULL, billed_on date NOT NULL);

-- A view over a protected table, with and without its own policy.
CREATE VIEW clinic.patient_names AS SELECT id, first_name, last_name FROM clinic.patients;
CREATE VIEW clinic.patient_cities AS SELECT id, city, state FROM clinic.patients;
CREATE MATERIALIZED VIEW clinic.patient_counts AS SELECT state, count(*) AS n FROM clinic.patients GROUP BY state;

-- A partitioned table and its partitions.
CREATE TABLE clinic.vitals (
    id bigint NOT NULL, patient_id bigint NOT NULL, taken_on date NOT NULL,
    heart_rate integer, weight_kg numeric(5,1)) PARTITION BY RANGE (taken_on);
CREATE TABLE clinic.vitals_2024 PARTITION OF clinic.vitals FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE clinic.vitals_2025 PARTITION OF clinic.vitals FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');

-- An inheritance parent and child; the child has an extra column.
CREATE TABLE clinic.devices (id bigint PRIMARY KEY, patient_id bigint, serial text, kind text);
CREATE TABLE clinic.implants (implanted_on date) INHERITS (clinic.devices);

-- A sequence owned by a column, a table in public, a "Mixed Case" table.
CREATE TABLE public.lookup_codes (code text PRIMARY KEY, description text);
CREATE TABLE public.audit_log (id bigserial PRIMARY KEY, note text);
CREATE TABLE clinic."Appointments" ("Id" bigint, "PatientId" bigint, "When" timestamptz);
-- A table with the same name as a clinic table, in public (search_path tests).
CREATE TABLE public.patients (id bigint, nickname text);
CREATE TABLE clinic.secrets (id bigint, secret text);

-- A function, an operator and an enum type outside pg_catalog.
CREATE FUNCTION public.get_ssn(bigint) RETURNS text LANGUAGE sql AS 'SELECT ssn FROM clinic.patients WHERE id = $1';
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE sql AS 'SELECT pg_catalog.lower($1)';
CREATE FUNCTION public.plus_one(integer) RETURNS integer LANGUAGE sql AS 'SELECT $1 + 1';
CREATE FUNCTION public.text_eq_ci(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT lower($1) = lower($2)';
CREATE OPERATOR public.=== (LEFTARG = text, RIGHTARG = text, FUNCTION = public.text_eq_ci);
CREATE TYPE clinic.note_kind AS ENUM ('progress', 'discharge', 'psychotherapy');
CREATE DOMAIN public.us_zip AS text CHECK (VALUE ~ '^[0-9]{5}$');

-- pgmask's own schema: the table of re-identification codes, as proxy/reid creates it.
CREATE SCHEMA pgmask;
CREATE TABLE pgmask.subject_codes (
    subject text PRIMARY KEY,
    code bigint NOT NULL UNIQUE CHECK (code BETWEEN 1 AND 2147483647),
    created_at timestamptz NOT NULL DEFAULT now());
