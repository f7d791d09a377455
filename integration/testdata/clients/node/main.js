// A node-postgres client for pgmask's integration tests (integration/clients_node_test.go).
//
// Connects with the PG* environment variables the test sets, runs one query with a $1
// parameter through the extended protocol, then reads the same query through a
// pg-cursor (a portal read a few rows per Execute):
//
//   node main.js SQL PARAM BATCH
//
// Output, one record per line, tab-separated, first field the kind of record:
//   FIELD   column dataTypeID                  (the RowDescription)
//   ROW     value...                           (each value as type:value)
//   BATCH   size                               (rows of one cursor read)
//   CROW    value...                           (a row read through the cursor)
"use strict";

const { Client } = require("pg");
const Cursor = require("pg-cursor");

function render(v) {
  if (v === null) return "NULL";
  if (v instanceof Date) {
    // pg decodes a date as local midnight; TZ=UTC in the test, so this is the date.
    return "Date:" + v.toISOString();
  }
  if (Array.isArray(v)) return "Array:" + v.join(",");
  return typeof v + ":" + v;
}

function print(kind, fields) {
  console.log([kind, ...fields.map((f) => String(f).replace(/[\t\n]/g, " "))].join("\t"));
}

async function main() {
  const [sql, param, batch] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
  const client = new Client({ application_name: "pgmask-test-node" });
  await client.connect();
  try {
    const res = await client.query({ text: sql, values: [param] });
    for (const f of res.fields) print("FIELD", [f.name, f.dataTypeID]);
    for (const row of res.rows) print("ROW", res.fields.map((f) => render(row[f.name])));

    await client.query("BEGIN");
    const cursor = client.query(new Cursor(sql, [param]));
    for (;;) {
      const rows = await cursor.read(batch);
      if (rows.length === 0) break;
      print("BATCH", [rows.length]);
      for (const row of rows) print("CROW", res.fields.map((f) => render(row[f.name])));
    }
    await cursor.close();
    await client.query("COMMIT");
  } finally {
    await client.end();
  }
}

main().catch((err) => {
  console.error(err.stack || String(err));
  if (err.code) console.error("SQLSTATE " + err.code);
  process.exit(1);
});
