"""A psycopg2 client for pgmask's integration tests (integration/clients_python_test.go).

Connects with the PG* environment variables the test sets and reads one query through a
named (server-side) cursor, a few rows per FETCH:

    python3 psycopg2_cursor.py SQL PARAM ITERSIZE

SQL has one %s placeholder, bound to the integer PARAM. Output, one record per line,
tab-separated, first field the kind of record:

    DESC   column type_code                      (cursor.description)
    ROW    value...                              (each value as python_type:repr)
"""

import sys

import psycopg2


def render(v):
    if v is None:
        return "NULL"
    return "%s:%s" % (type(v).__name__, v)


def main():
    sql, param, itersize = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    conn = psycopg2.connect("application_name=pgmask-test-psycopg2")
    try:
        cur = conn.cursor(name="pgmask_test_cursor")
        cur.itersize = itersize
        cur.execute(sql, (param,))
        rows = 0
        for row in cur:
            if rows == 0:
                for d in cur.description:
                    print("DESC\t%s\t%s" % (d.name, d.type_code))
            rows += 1
            print("\t".join(["ROW"] + [render(v) for v in row]))
        cur.close()
        conn.rollback()
    finally:
        conn.close()


if __name__ == "__main__":
    main()
