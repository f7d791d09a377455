"""A SQLAlchemy client for pgmask's integration tests (integration/clients_python_test.go).

Prints what SQLAlchemy's inspector (the reflection BI tools such as Superset use) finds
in one schema, connecting through psycopg2 with the PG* environment variables:

    python3 sqlalchemy_inspect.py SCHEMA

Output, one record per line, tab-separated, first field the kind of record:

    TABLE   name
    COLUMN  table column type nullable
    PK      table name column...
    FK      table columns referred_table referred_columns
    INDEX   table name unique column...
"""

import sys

import sqlalchemy


def main():
    schema = sys.argv[1]
    # An empty URL host makes psycopg2 (libpq) read PGHOST, PGPORT, PGUSER, ... itself.
    engine = sqlalchemy.create_engine(
        "postgresql+psycopg2://",
        connect_args={"application_name": "pgmask-test-sqlalchemy"},
    )
    try:
        insp = sqlalchemy.inspect(engine)
        for table in sorted(insp.get_table_names(schema=schema)):
            print("TABLE\t%s" % table)
            for c in insp.get_columns(table, schema=schema):
                print("COLUMN\t%s\t%s\t%s\t%s" % (table, c["name"], c["type"], c["nullable"]))
            pk = insp.get_pk_constraint(table, schema=schema)
            print("\t".join(["PK", table, str(pk.get("name"))] + list(pk["constrained_columns"])))
            for fk in insp.get_foreign_keys(table, schema=schema):
                print("FK\t%s\t%s\t%s\t%s" % (table, ",".join(fk["constrained_columns"]),
                                              fk["referred_table"], ",".join(fk["referred_columns"])))
            for ix in insp.get_indexes(table, schema=schema):
                print("\t".join(["INDEX", table, ix["name"], str(ix["unique"])] + [str(c) for c in ix["column_names"]]))
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
