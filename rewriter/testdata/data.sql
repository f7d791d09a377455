-- A few rows for the live golden check (PGMASK_REWRITER_DSN), including canaries a
-- restricted role must never see: a psychotherapy note whose body does not cast to
-- integer, and an SSN.
INSERT INTO clinic.patients VALUES
 (1, 'Ada', 'Lovelace', '123-45-6789', 'MRN00000001', '1931-12-10', '1 Main St', 'Boston', 'MA', '02134', '555-123-4567', 'ada@example.org', 'F'),
 (2, 'Alan', 'Turing', '987-65-4329', 'MRN00000002', '1962-06-23', NULL, 'Wilmslow', 'NY', '03601', NULL, NULL, 'M');
INSERT INTO clinic.encounters VALUES
 (10, 1, '2024-03-01 10:00+00', '2024-03-03 12:00+00', '{E11.9,I10}', 'Dr. Who'),
 (11, 2, '2025-01-05 09:00+00', NULL, '{J45}', 'Dr. No');
INSERT INTO clinic.notes VALUES
 (100, 1, 10, 'progress', '42', '2024-03-02 08:00+00'),
 (101, 1, 10, 'psychotherapy', 'CANARY-PSYCH patient said 123-45-6789', '2024-03-02 09:00+00');
INSERT INTO clinic.claims VALUES (1000, 1, 'ACCT-1', 1234.56, '2024-03-10');
INSERT INTO clinic.vitals VALUES (1, 1, '2024-07-01', 70, 60.5), (2, 2, '2025-02-01', 80, 80.0);
INSERT INTO clinic.devices VALUES (1, 1, 'SN-1', 'pump');
INSERT INTO clinic.implants VALUES (2, 2, 'SN-2', 'pacemaker', '2020-01-01');
INSERT INTO public.lookup_codes VALUES ('E11.9', 'Type 2 diabetes');
