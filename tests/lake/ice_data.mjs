// ice_data.mjs JOB.json OUT.json - writes Parquet files with DuckDB (field
// ids set) and reports what the Iceberg layer records about each: rows,
// file size, and per column the value and NULL counts, compressed bytes and
// min/max (timestamps as epoch microseconds).
//   JOB: {"files": [{"path": "/abs/x.parquet", "kind": "data"|"eqdel", "rows": [{...}]}]}
import { readFileSync, writeFileSync, statSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { duckdb } from './readers.mjs';

const COLS = [['session_id', 'BIGINT', 1], ['user_id', 'VARCHAR', 2], ['session_start', 'TIMESTAMPTZ', 3],
  ['country', 'VARCHAR', 4], ['events', 'BIGINT', 5], ['revenue', 'DOUBLE', 6]];
const [jobPath, outPath] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobPath, 'utf8'));
const { DuckDBInstance } = await duckdb();
const con = await (await DuckDBInstance.create(':memory:')).connect();
await con.run("SET TimeZone = 'UTC'");
const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
const lit = (v, type) => (v === null || v === undefined ? `NULL::${type}` : type === 'VARCHAR' ? q(v)
  : type === 'TIMESTAMPTZ' ? `${q(v)}::TIMESTAMPTZ` : `${v}::${type}`);
const out = { files: [] };
for (const f of job.files) {
  const cols = f.kind === 'eqdel' ? COLS.slice(0, 1) : COLS;
  const values = f.rows.map((r) => '(' + cols.map(([n, t]) => lit(r[n], t)).join(', ') + ')').join(', ');
  const names = cols.map(([n]) => n).join(', ');
  const ids = '{' + cols.map(([n, , id]) => `${n}: ${id}`).join(', ') + '}';
  mkdirSync(dirname(f.path), { recursive: true });
  await con.run(`COPY (SELECT * FROM (VALUES ${values}) t(${names})) TO ${q(f.path)} (FORMAT parquet, FIELD_IDS ${ids})`);
  const stats = [];
  const sizes = (await con.runAndReadAll(
    `SELECT path_in_schema AS c, sum(total_compressed_size)::BIGINT AS b FROM parquet_metadata(${q(f.path)}) GROUP BY 1`)).getRowObjects();
  for (const [n, t, id] of cols) {
    const conv = t === 'TIMESTAMPTZ' ? `epoch_us(${n})` : n;
    const r = (await con.runAndReadAll(`SELECT count(${n})::BIGINT AS v, (count(*) - count(${n}))::BIGINT AS z,
        min(${conv})::VARCHAR AS lo, max(${conv})::VARCHAR AS hi FROM read_parquet(${q(f.path)})`)).getRowObjects()[0];
    const b = sizes.find((s) => s.c === n)?.b ?? 0n;
    stats.push({ field_id: id, values: Number(r.v) + Number(r.z), nulls: Number(r.z), bytes: Number(b),
      min: r.lo, max: r.hi });
  }
  out.files.push({ path: f.path, rows: f.rows.length, bytes: statSync(f.path).size, cols: stats });
}
writeFileSync(outPath, JSON.stringify(out));
