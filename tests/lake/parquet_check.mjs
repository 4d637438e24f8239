// parquet_check.mjs EXPECTED.json - reads the Parquet files akili wrote with
// two independent readers, hyparquet (pure JS, + hyparquet-compressors for
// zstd/snappy) and DuckDB (read_parquet, parquet_schema, parquet_metadata),
// and compares every value, the field ids and the column statistics of every
// row group with what the expected rows say.  Prints one "ok ..." or
// "FAIL ..." line per check.
//
// Values are compared in a canonical text form: integers, dates (days) and
// timestamps (µs) as decimal strings, floating point as the 64 bits of the
// double ("NaN" for NaN), so -0, NaN and the last digit all count.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../oracle/package.json'));
const { parquetReadObjects, parquetMetadataAsync, asyncBufferFromFile } = await import(require.resolve('hyparquet'));
const { compressors } = await import(require.resolve('hyparquet-compressors'));
const { DuckDBInstance } = await import(require.resolve('@duckdb/node-api'));

const expected = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const parsers = { timestampFromMicroseconds: (v) => v, dateFromDays: (d) => d };
let pass = 0, fail = 0;
const check = (ok, what, detail = '') => {
  if (ok) pass++; else fail++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok || !detail ? '' : ': ' + detail}`);
};

const dv = new DataView(new ArrayBuffer(8));
const bits = (x) => {
  if (Number.isNaN(x)) return 'NaN';
  dv.setFloat64(0, x);
  return dv.getBigUint64(0).toString(16).padStart(16, '0');
};
const fromBits = (h) => {
  if (h === 'NaN') return NaN;
  dv.setBigUint64(0, BigInt('0x' + h));
  return dv.getFloat64(0);
};
// a value from a reader -> canonical form
const canon = (type, v) => {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'BOOLEAN': return v ? 'true' : 'false';
    case 'FLOAT': case 'DOUBLE': return bits(Number(v));
    case 'VARCHAR': return String(v);
    default: return String(v); // bigint or number
  }
};
const expCanon = (type, v) => (v === null ? null : type === 'BOOLEAN' ? (v ? 'true' : 'false') : v);

// order of canonical values of a type (NaN excluded by the caller)
const cmp = (type, a, b) => {
  switch (type) {
    case 'BOOLEAN': return (a === 'true') - (b === 'true');
    case 'FLOAT': case 'DOUBLE': return fromBits(a) - fromBits(b);
    case 'VARCHAR': return Buffer.compare(Buffer.from(a), Buffer.from(b));
    default: { const x = BigInt(a), y = BigInt(b); return x < y ? -1 : x > y ? 1 : 0; }
  }
};
// expected statistics of rows[from, to) of column c
const expStats = (e, c, from, to) => {
  const type = e.columns[c].type;
  let nulls = 0, nans = 0, min = null, max = null;
  for (let r = from; r < to; r++) {
    const v = expCanon(type, e.rows[r][c]);
    if (v === null) { nulls++; continue; }
    if (v === 'NaN') { nans++; continue; }
    if (min === null || cmp(type, v, min) < 0) min = v;
    if (max === null || cmp(type, v, max) > 0) max = v;
  }
  if (min !== null && (type === 'FLOAT' || type === 'DOUBLE')) {
    if (fromBits(min) === 0) min = bits(-0);
    if (fromBits(max) === 0) max = bits(0);
  }
  return { nulls, nans, min, max };
};

const compareRows = (e, got, who) => {
  let bad = 0, first = '';
  if (got.length !== e.rows.length) return check(false, `${who}: row count`, `${got.length} != ${e.rows.length}`);
  for (let r = 0; r < e.rows.length; r++)
    for (let c = 0; c < e.columns.length; c++) {
      const want = expCanon(e.columns[c].type, e.rows[r][c]);
      if (got[r][c] !== want) {
        if (!bad) first = `row ${r} ${e.columns[c].name}: ${got[r][c]} != ${want}`;
        bad++;
      }
    }
  check(bad === 0, `${who}: ${e.rows.length} rows x ${e.columns.length} columns equal`, `${bad} values differ, first ${first}`);
};

const duck = await (await DuckDBInstance.create(':memory:')).connect();
await duck.run("SET TimeZone = 'UTC'");

// DuckDB's text form of a statistic -> canonical
const daysOf = (s) => {
  const [y, m, d] = s.split('-').map(Number);
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d);
  return Math.round(t.getTime() / 86400000);
};
const duckStat = (type, s) => {
  if (s === null) return null;
  switch (type) {
    case 'DATE': return String(daysOf(s));
    case 'TIMESTAMP': {
      const m = /^(\d{4}-\d\d-\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:\+00)?$/.exec(s);
      if (!m) return `unparsed ${s}`;
      const us = BigInt(daysOf(m[1])) * 86400000000n + BigInt(((+m[2]) * 60 + (+m[3])) * 60 + (+m[4])) * 1000000n
        + BigInt((m[5] ?? '').padEnd(6, '0'));
      return String(us);
    }
    case 'FLOAT': return bits(Math.fround(Number(s)));
    case 'DOUBLE': return bits(Number(s));
    default: return s;
  }
};
const sameNum = (type, a, b) => (type === 'FLOAT' || type === 'DOUBLE') && a !== null && b !== null
  ? fromBits(a) === fromBits(b) : a === b;

for (const e of expected) {
  const name = e.file.split('/').pop();
  // ---- hyparquet ----
  try {
    const file = await asyncBufferFromFile(e.file);
    const md = await parquetMetadataAsync(file, { parsers });
    const leaves = md.schema.slice(1);
    check(leaves.length === e.columns.length && leaves.every((s, i) => s.name === e.columns[i].name
      && (s.field_id ?? 0) === e.columns[i].field_id
      && s.repetition_type === (e.columns[i].required ? 'REQUIRED' : 'OPTIONAL')),
      `hyparquet ${name}: names, field ids, repetition`, JSON.stringify(leaves.map((s) => [s.name, s.field_id])));
    check(md.row_groups.length === e.row_groups && Number(md.num_rows) === e.rows.length && md.created_by === 'akili',
      `hyparquet ${name}: ${e.row_groups} row groups, num_rows, created_by`);
    const objs = e.rows.length ? await parquetReadObjects({ file, compressors, parsers }) : [];
    compareRows(e, objs.map((o) => e.columns.map((c) => canon(c.type, o[c.name]))), `hyparquet ${name}`);
    let start = 0, bad = [];
    for (const rg of md.row_groups) {
      const n = Number(rg.num_rows);
      rg.columns.forEach((cc, c) => {
        const type = e.columns[c].type, st = cc.meta_data.statistics ?? {};
        const want = expStats(e, c, start, start + n);
        const min = canon(type, st.min_value), max = canon(type, st.max_value);
        if (Number(st.null_count) !== want.nulls || min !== want.min || max !== want.max
          || (st.nan_count !== undefined && Number(st.nan_count) !== want.nans)) // hyparquet 1.31 drops it
          bad.push(`${e.columns[c].name}: ${st.null_count}/${min}/${max} != ${want.nulls}/${want.min}/${want.max}`);
      });
      start += n;
    }
    check(bad.length === 0, `hyparquet ${name}: null_count, min_value, max_value of every chunk`, bad.slice(0, 3).join('; '));
  } catch (err) {
    check(false, `hyparquet ${name}`, err.stack);
  }
  // ---- DuckDB ----
  try {
    const f = e.file.replaceAll("'", "''");
    const schema = (await duck.runAndReadAll(`SELECT name, field_id FROM parquet_schema('${f}')`)).getRowObjects().slice(1);
    check(schema.length === e.columns.length && schema.every((s, i) => s.name === e.columns[i].name
      && Number(s.field_id ?? 0) === e.columns[i].field_id),
      `duckdb ${name}: names and field ids`, JSON.stringify(schema, (k, v) => (typeof v === 'bigint' ? String(v) : v)));
    const q = (c) => {
      const id = `"${c.name}"`;
      switch (c.type) {
        case 'DATE': return `(${id} - DATE '1970-01-01')::VARCHAR`;
        case 'TIMESTAMP': return `epoch_us(${id})::VARCHAR`;
        case 'FLOAT': case 'DOUBLE': return `${id}::DOUBLE`;
        case 'BOOLEAN': return id;
        default: return `${id}::VARCHAR`;
      }
    };
    const rows = (await duck.runAndReadAll(`SELECT ${e.columns.map(q).join(', ')} FROM read_parquet('${f}', file_row_number = true)
      ORDER BY file_row_number`)).getRows();
    compareRows(e, rows.map((r) => r.map((v, c) => canon(e.columns[c].type, v))), `duckdb ${name}`);
    const meta = (await duck.runAndReadAll(`SELECT row_group_id, row_group_num_rows, column_id, stats_null_count,
      stats_min_value, stats_max_value FROM parquet_metadata('${f}') ORDER BY row_group_id, column_id`)).getRowObjects();
    const starts = [];
    let start = 0, bad = [];
    for (const m of meta) {
      const g = Number(m.row_group_id), c = Number(m.column_id), n = Number(m.row_group_num_rows);
      if (starts[g] === undefined) { starts[g] = start; start += n; }
      const type = e.columns[c].type, want = expStats(e, c, starts[g], starts[g] + n);
      const min = duckStat(type, m.stats_min_value), max = duckStat(type, m.stats_max_value);
      const fl = type === 'FLOAT' || type === 'DOUBLE'; // DuckDB leaves out infinite bounds
      if (Number(m.stats_null_count) !== want.nulls || (!(fl && min === null) && !sameNum(type, min, want.min))
        || (!(fl && max === null) && !sameNum(type, max, want.max)))
        bad.push(`${e.columns[c].name}: ${m.stats_null_count}/${min}/${max} != ${want.nulls}/${want.min}/${want.max}`);
    }
    check(meta.length === e.row_groups * e.columns.length && bad.length === 0,
      `duckdb ${name}: stats_null_count, stats_min_value, stats_max_value of every chunk`, bad.slice(0, 3).join('; '));
  } catch (err) {
    check(false, `duckdb ${name}`, err.stack);
  }
}
console.log(`checks: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
