// pq_rows.mjs FILE... - the rows of Parquet files as DuckDB's read_parquet
// reads them, one JSON line {"file": ..., "row": {...}} per row: integers as
// numbers, timestamps as ISO-8601 UTC text with microseconds.
import { duckdb } from './readers.mjs';

const { DuckDBInstance } = await duckdb();
const con = await (await DuckDBInstance.create(':memory:')).connect();
await con.run("SET TimeZone = 'UTC'");
const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
const out = [];
for (const f of process.argv.slice(2)) {
  const cols = (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${q(f)})`)).getRowObjects();
  const sel = cols.map((c) => {
    const n = '"' + String(c.column_name).replace(/"/g, '""') + '"';
    return String(c.column_type).startsWith('TIMESTAMP')
      ? `strftime(${n}::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ') AS ${n}` : n;
  }).join(', ');
  const rows = (await con.runAndReadAll(`SELECT ${sel} FROM read_parquet(${q(f)})`)).getRowObjects();
  for (const r of rows) {
    const o = {};
    for (const [k, v] of Object.entries(r)) o[k] = typeof v === 'bigint' ? Number(v) : v === undefined ? null : v;
    out.push(JSON.stringify({ file: f, row: o }));
  }
}
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
