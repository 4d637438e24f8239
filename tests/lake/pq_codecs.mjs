// pq_codecs.mjs FILE... - the compression codecs of each Parquet file's
// column chunks as DuckDB's parquet_metadata reports them, one JSON object
// {"file": ..., "codecs": [...]} per line.
import { duckdb } from './readers.mjs';

const { DuckDBInstance } = await duckdb();
const con = await (await DuckDBInstance.create(':memory:')).connect();
for (const f of process.argv.slice(2)) {
  const q = `SELECT DISTINCT compression AS c FROM parquet_metadata('${f.replace(/'/g, "''")}') ORDER BY 1`;
  const rows = (await con.runAndReadAll(q)).getRowObjects();
  console.log(JSON.stringify({ file: f, codecs: rows.map((r) => String(r.c)) }));
}
