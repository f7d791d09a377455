-- The table of pgmask's PostgreSQL audit sink. pgmask runs this script, as its admin
-- identity, when pgmask_audit.records does not exist yet; a DBA may run it beforehand
-- instead (as the role that should own the table: see docs/audit.md).
--
-- Each row is one record of a chain, named by the pgmask instance that wrote it. The
-- column "record" is the record exactly as sealed (json keeps the text as given, where
-- jsonb would reorder it), so that
--     psql -XAt -c "SELECT record FROM pgmask_audit.records WHERE chain = 'x' ORDER BY seq"
-- piped into `pgmask audit verify -` checks it. The other columns are copies for
-- querying.
--
-- Append-only: the table's own privileges to change rows are revoked, from everyone
-- and from its owner too, and triggers refuse UPDATE, DELETE and TRUNCATE. A superuser
-- (or the owner, who may grant privileges back and drop triggers) can still get round
-- that; the chain's MACs are what prove it did not happen.

CREATE SCHEMA IF NOT EXISTS pgmask_audit;
REVOKE ALL ON SCHEMA pgmask_audit FROM PUBLIC;

CREATE TABLE pgmask_audit.records (
    chain     text        NOT NULL,
    seq       bigint      NOT NULL,
    epoch     bigint      NOT NULL,
    at        timestamptz NOT NULL,
    kind      text        NOT NULL,
    user_name text,
    role_name text,
    decision  text,
    record    json        NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX records_at ON pgmask_audit.records (at);

REVOKE ALL ON pgmask_audit.records FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON pgmask_audit.records FROM CURRENT_USER;

CREATE OR REPLACE FUNCTION pgmask_audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'pgmask_audit.records is append-only' USING ERRCODE = '42501';
END
$$;
REVOKE ALL ON FUNCTION pgmask_audit.refuse_change() FROM PUBLIC;

CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON pgmask_audit.records
    FOR EACH ROW EXECUTE FUNCTION pgmask_audit.refuse_change();
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON pgmask_audit.records
    FOR EACH STATEMENT EXECUTE FUNCTION pgmask_audit.refuse_change();
