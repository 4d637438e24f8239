#!/usr/bin/env node
// duck.mjs - the DuckDB batch oracle for akili's pipeline tests.
//
// Runs a product's transform SQL on DuckDB (in-process, @duckdb/node-api
// 1.5.6-r.1, installed by tests/oracle/setup.sh) over input files, and writes
// the result in akili's output convention, so `cmp` can compare it with what
// akili published.
//
// usage:
//   node tests/oracle/duck.mjs --table NAME=FILE[:COLSPEC] [--table ...]
//        (--sql FILE | --query TEXT) [--out FILE] [--format json]
//        [--csv NAME=FILE[:COLSPEC]] [--var KEY=VALUE] [--materialize]
//        [--ignore-errors] [--threads N] [--timing]
//
//   --table NAME=FILE:COLSPEC  make FILE queryable as NAME.  NDJSON via
//        read_json(format='newline_delimited'); a FILE ending in .csv (or
//        .csv.gz) via read_csv(header=true).  FILE may be a glob; giving the
//        same NAME again adds files to it (COLSPEC from the first one).
//        COLSPEC lists the columns and their DuckDB types, comma-separated:
//          event_id:VARCHAR,user_id:VARCHAR,event_time:TIMESTAMP
//        (commas inside parentheses are kept: amount:DECIMAL(18,2)).  Keys
//        not listed are ignored; listed keys missing from a line are NULL.
//        Without COLSPEC DuckDB auto-detects the types (not recommended: it
//        guesses differently for JSON and CSV).  FILE must not contain ':'.
//        The input must be plain rows: run changelogs (Debezium, tombstones,
//        repeated keys) through materialize.py first.
//   --csv NAME=FILE:COLSPEC    the same, but always read_csv(header=true).
//   --sql FILE / --query TEXT  the transform.  `{{ ref('x') }}` becomes the
//        table name x; `{{ KEY }}` becomes VALUE for each --var KEY=VALUE
//        (e.g. --var this=result for a quality check).  Several statements
//        may be given; the last one's result is written.
//   --out FILE      write there instead of stdout.
//   --format json   the only format: one JSON object per line (below).
//   --materialize   CREATE TABLE ... AS (default: VIEWs over the files, so
//                   the query reads only the columns it needs).
//   --ignore-errors pass ignore_errors=true to the readers (bad lines/values
//                   are skipped or NULLed by DuckDB - prefer cleaning the
//                   input with materialize.py so the rule is explicit).
//   --threads N     DuckDB threads (default 2; the result does not depend on it).
//   --timing        print {"rows","load_s","query_s","write_s","total_s"} as
//                   one JSON line on stderr.
//
// Output convention (akili's; sessions_ref.py writes the same bytes):
//   * one JSON object per line, "\n"-terminated (also the last line); keys
//     are the result's column names in result order; no spaces
//     ({"a":1,"b":null}); non-ASCII is written as raw UTF-8; strings are
//     escaped like JSON.stringify: \" \\ \b \f \n \r \t, other control
//     characters < 0x20 as \u00xx (lowercase hex), nothing else.
//   * NULL -> null; BOOLEAN -> true/false.
//   * integers (TINYINT..BIGINT, HUGEINT, unsigned) -> plain JSON integers,
//     never strings, whatever their size.
//   * DOUBLE/FLOAT -> JSON numbers in JavaScript's shortest round-trip form
//     (1, 0.5, 1e+21); NaN and +-Infinity -> null.
//   * DECIMAL(w,s) -> a JSON number with exactly s fractional digits.
//   * VARCHAR/UUID/ENUM and other scalar types -> JSON strings.
//   * TIMESTAMP (and TIMESTAMP WITH TIME ZONE, _S, _MS, _NS) -> ISO-8601 UTC
//     "YYYY-MM-DDTHH:MM:SS[.fff|.ffffff]Z": no fraction when it is zero,
//     3 digits when the value is whole milliseconds, else 6 (nanoseconds are
//     truncated to microseconds); infinite values -> "infinity"/"-infinity".
//   * DATE -> "YYYY-MM-DD".
//   * LIST/ARRAY -> JSON arrays, STRUCT/MAP -> JSON objects, recursively.
//   * rows sorted bytewise (memcmp) by their UTF-8 line text, so equal
//     tables give identical files.
import {
  DuckDBInstance, DuckDBTypeId, DuckDBTimestampValue, DuckDBTimestampTZValue,
  DuckDBTimestampMillisecondsValue, DuckDBTimestampSecondsValue,
  DuckDBTimestampNanosecondsValue, DuckDBDateValue, DuckDBDecimalValue,
  DuckDBListValue, DuckDBArrayValue, DuckDBStructValue, DuckDBMapValue,
} from '@duckdb/node-api';
import { readFileSync, writeFileSync } from 'node:fs';

const USAGE = `usage: node tests/oracle/duck.mjs --table NAME=FILE[:COLSPEC] [--table ...]
       (--sql FILE | --query TEXT) [--out FILE] [--format json] [--csv NAME=FILE[:COLSPEC]]
       [--var KEY=VALUE] [--materialize] [--ignore-errors] [--threads N] [--timing]`;

function die(msg) {
  process.stderr.write(`duck.mjs: ${msg}\n`);
  process.exit(2);
}

// ---- arguments -------------------------------------------------------------
const opt = { tables: [], vars: {}, format: 'json', threads: 2 };
{
  const argv = process.argv.slice(2);
  const need = (i) => { if (i + 1 >= argv.length) die(`${argv[i]} needs a value\n${USAGE}`); return argv[i + 1]; };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--table': opt.tables.push({ spec: need(i), csv: false }); i++; break;
      case '--csv': opt.tables.push({ spec: need(i), csv: true }); i++; break;
      case '--sql': opt.sqlFile = need(i); i++; break;
      case '--query': opt.query = need(i); i++; break;
      case '--out': opt.out = need(i); i++; break;
      case '--format': opt.format = need(i); i++; break;
      case '--threads': opt.threads = Number(need(i)); i++; break;
      case '--var': {
        const v = need(i); i++;
        const eq = v.indexOf('=');
        if (eq <= 0) die(`--var wants KEY=VALUE, got ${v}`);
        opt.vars[v.slice(0, eq)] = v.slice(eq + 1);
        break;
      }
      case '--materialize': opt.materialize = true; break;
      case '--ignore-errors': opt.ignoreErrors = true; break;
      case '--timing': opt.timing = true; break;
      case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0);
      default: die(`unknown argument ${a}\n${USAGE}`);
    }
  }
  if (!opt.sqlFile === !opt.query) die(`give exactly one of --sql FILE or --query TEXT\n${USAGE}`);
  if (opt.format !== 'json' && opt.format !== 'ndjson') die(`--format: only json is supported`);
  if (!(opt.threads >= 1)) die('--threads wants a positive number');
}

const sqlStr = (s) => `'${s.replace(/'/g, "''")}'`;
const ident = (s) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);

// Split "a:VARCHAR,b:DECIMAL(18,2)" at top-level commas.
function parseColspec(cs) {
  const cols = [];
  let depth = 0, cur = '';
  for (const ch of cs + ',') {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      const t = cur.trim();
      cur = '';
      if (!t) continue;
      const c = t.indexOf(':');
      if (c <= 0 || c === t.length - 1) die(`bad column spec "${t}" (want name:TYPE)`);
      cols.push([t.slice(0, c).trim(), t.slice(c + 1).trim()]);
    } else cur += ch;
  }
  return cols;
}

// NAME=FILE[:COLSPEC]; the file part ends at the first ':' that is followed
// by "ident:" (so paths with ':' still work as long as no column follows).
const tables = new Map();
for (const { spec, csv } of opt.tables) {
  const eq = spec.indexOf('=');
  if (eq <= 0) die(`--table wants NAME=FILE[:COLSPEC], got ${spec}`);
  const name = spec.slice(0, eq);
  const rest = spec.slice(eq + 1);
  const m = /:(?=\s*[A-Za-z_"][^:,]*:)/.exec(rest);
  const file = m ? rest.slice(0, m.index) : rest;
  const cols = m ? parseColspec(rest.slice(m.index + 1)) : null;
  const isCsv = csv || /\.csv(\.gz)?$/i.test(file);
  let t = tables.get(name);
  if (!t) { t = { name, files: [], cols, csv: isCsv }; tables.set(name, t); }
  else if (t.csv !== isCsv) die(`table ${name}: cannot mix CSV and NDJSON files`);
  if (!t.cols && cols) t.cols = cols;
  t.files.push(file);
}

function readerSql(t) {
  const files = t.files.length === 1 ? sqlStr(t.files[0]) : `[${t.files.map(sqlStr).join(', ')}]`;
  const args = [files];
  if (t.csv) args.push('header=true');
  else args.push("format='newline_delimited'");
  if (t.cols) args.push(`columns={${t.cols.map(([n, ty]) => `${sqlStr(n)}: ${sqlStr(ty)}`).join(', ')}}`);
  if (opt.ignoreErrors) args.push('ignore_errors=true');
  return `${t.csv ? 'read_csv' : 'read_json'}(${args.join(', ')})`;
}

// ---- SQL templating --------------------------------------------------------
let sql = opt.query ?? readFileSync(opt.sqlFile, 'utf8');
sql = sql.replace(/\{\{\s*ref\(\s*(['"])(.*?)\1\s*\)\s*\}\}/g, (_, _q, n) => ident(n));
sql = sql.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (all, k) => {
  if (!(k in opt.vars)) die(`the SQL uses ${all}; give --var ${k}=VALUE`);
  return ident(opt.vars[k]);
});

// ---- value formatting ------------------------------------------------------
const US_PER_DAY = 86400000000n;
const p2 = (n) => (n < 10 ? '0' : '') + n;

function civil(days) { // days since 1970-01-01 -> [y, m, d] (H. Hinnant's algorithm)
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function fmtDate(days) {
  const [y, m, d] = civil(days);
  const ys = String(Math.abs(y)).padStart(4, '0');
  return `${y < 0 ? '-' : ''}${ys}-${p2(m)}-${p2(d)}`;
}

const TS_INF = (1n << 63n) - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const dateCache = new Map();
function fmtTs(us) { // bigint microseconds since the epoch, UTC
  if (us >= TS_INF) return 'infinity';
  if (us <= -TS_INF) return '-infinity';
  let days, r;
  if (us <= SAFE && us >= -SAFE) { // exact in double arithmetic
    const n = Number(us);
    days = Math.floor(n / 86400e6);
    r = n - days * 86400e6;
  } else {
    let d = us / US_PER_DAY;
    let rem = us - d * US_PER_DAY;
    if (rem < 0n) { d -= 1n; rem += US_PER_DAY; }
    days = Number(d);
    r = Number(rem);
  }
  let ds = dateCache.get(days);
  if (ds === undefined) { ds = fmtDate(days); dateCache.set(days, ds); }
  const secs = Math.floor(r / 1e6), frac = r % 1e6;
  let s = `${ds}T${p2(Math.floor(secs / 3600))}:${p2(Math.floor(secs / 60) % 60)}:${p2(secs % 60)}`;
  if (frac) s += frac % 1000 ? '.' + String(frac).padStart(6, '0') : '.' + String(frac / 1000).padStart(3, '0');
  return s + 'Z';
}

function fmtDecimal(v) {
  const neg = v.value < 0n;
  let digits = (neg ? -v.value : v.value).toString();
  if (v.scale > 0) {
    digits = digits.padStart(v.scale + 1, '0');
    digits = digits.slice(0, digits.length - v.scale) + '.' + digits.slice(digits.length - v.scale);
  }
  return (neg ? '-' : '') + digits;
}

function fmt(v) {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'bigint': return v.toString();
    case 'number': return Number.isFinite(v) ? JSON.stringify(v) : 'null';
    case 'boolean': return v ? 'true' : 'false';
    case 'string': return JSON.stringify(v);
  }
  if (v instanceof DuckDBTimestampValue || v instanceof DuckDBTimestampTZValue) return `"${fmtTs(v.micros)}"`;
  if (v instanceof DuckDBTimestampMillisecondsValue) {
    if (v.millis >= TS_INF || v.millis <= -TS_INF) return `"${fmtTs(v.millis)}"`;
    return `"${fmtTs(v.millis * 1000n)}"`;
  }
  if (v instanceof DuckDBTimestampSecondsValue) {
    if (v.seconds >= TS_INF || v.seconds <= -TS_INF) return `"${fmtTs(v.seconds)}"`;
    return `"${fmtTs(v.seconds * 1000000n)}"`;
  }
  if (v instanceof DuckDBTimestampNanosecondsValue) {
    if (v.nanos >= TS_INF || v.nanos <= -TS_INF) return `"${fmtTs(v.nanos)}"`;
    let us = v.nanos / 1000n;
    if (v.nanos < 0n && us * 1000n !== v.nanos) us -= 1n;
    return `"${fmtTs(us)}"`;
  }
  if (v instanceof DuckDBDateValue) {
    if (!v.isFinite) return v.days > 0 ? '"infinity"' : '"-infinity"';
    return `"${fmtDate(v.days)}"`;
  }
  if (v instanceof DuckDBDecimalValue) return fmtDecimal(v);
  if (v instanceof DuckDBListValue || v instanceof DuckDBArrayValue) return `[${v.items.map(fmt).join(',')}]`;
  if (v instanceof DuckDBStructValue) {
    return `{${Object.entries(v.entries).map(([k, x]) => `${JSON.stringify(k)}:${fmt(x)}`).join(',')}}`;
  }
  if (v instanceof DuckDBMapValue) {
    return `{${v.entries.map(({ key, value }) => `${JSON.stringify(typeof key === 'string' ? key : String(key))}:${fmt(value)}`).join(',')}}`;
  }
  return JSON.stringify(String(v));
}

// ---- run -------------------------------------------------------------------
const now = () => Number(process.hrtime.bigint()) / 1e9;
const t0 = now();
let con;
try {
  const inst = await DuckDBInstance.create(':memory:', { threads: String(opt.threads) });
  con = await inst.connect();
  await con.run("SET TimeZone = 'UTC'");
  for (const t of tables.values()) {
    const kind = opt.materialize ? 'TABLE' : 'VIEW';
    await con.run(`CREATE ${kind} ${ident(t.name)} AS SELECT * FROM ${readerSql(t)}`);
  }
} catch (e) {
  die(`loading the inputs failed: ${e.message}`);
}
const t1 = now();
let result;
try {
  const ext = await con.extractStatements(sql);
  const n = ext.count;
  if (n === 0) die('the SQL has no statement');
  for (let i = 0; i < n - 1; i++) await (await ext.prepare(i)).run();
  result = await (await ext.prepare(n - 1)).run();
} catch (e) {
  die(`the query failed: ${e.message}`);
}
const t2 = now();

const names = result.columnNames().map((n) => JSON.stringify(n) + ':');
const T = DuckDBTypeId;
const fmtOf = (type) => {   // a formatter per column type: avoids fmt()'s instanceof chain
  switch (type.typeId) {
    case T.VARCHAR: return (v) => (v === null ? 'null' : JSON.stringify(v));
    case T.TINYINT: case T.SMALLINT: case T.INTEGER: case T.BIGINT: case T.HUGEINT:
    case T.UTINYINT: case T.USMALLINT: case T.UINTEGER: case T.UBIGINT: case T.UHUGEINT:
      return (v) => (v === null ? 'null' : String(v));
    case T.TIMESTAMP: case T.TIMESTAMP_TZ: return (v) => (v === null ? 'null' : `"${fmtTs(v.micros)}"`);
    default: return fmt;
  }
};
const fmts = result.columnTypes().map(fmtOf);
const ncols = names.length;
// Chunk by chunk (2048 rows), so only one chunk's value objects are alive:
// materializing every value first made the garbage collector the bottleneck.
const lines = [];
const parts = new Array(ncols);
let wide = false;   // does some line hold a character >= U+D800?
for (;;) {
  const chunk = await result.fetchChunk();
  if (!chunk || chunk.rowCount === 0) break;
  const cols = chunk.getColumns();
  const nr = chunk.rowCount;
  for (let r = 0; r < nr; r++) {
    for (let c = 0; c < ncols; c++) parts[c] = names[c] + fmts[c](cols[c][r]);
    const line = '{' + parts.join(',') + '}\n';   // join gives a flat string
    if (!wide && /[\uD800-\uFFFF]/.test(line)) wide = true;
    lines.push(line);
  }
}
const nrows = lines.length;
// Bytewise (UTF-8) order.  JavaScript's default string order compares UTF-16
// code units, which agrees with UTF-8 byte order unless a line holds a
// character >= U+D800 (surrogate pairs sort below U+E000..U+FFFF in UTF-16
// but above them in UTF-8); only then pay for Buffer comparisons.
let out;
if (wide) {
  const bufs = lines.map((l) => Buffer.from(l, 'utf8'));
  bufs.sort(Buffer.compare);
  out = Buffer.concat(bufs);
} else {
  lines.sort();
  out = Buffer.from(lines.join(''), 'utf8');
}
if (opt.out) writeFileSync(opt.out, out);
else process.stdout.write(out);
const t3 = now();
if (opt.timing) {
  process.stderr.write(JSON.stringify({
    rows: nrows, load_s: +(t1 - t0).toFixed(3), query_s: +(t2 - t1).toFixed(3),
    write_s: +(t3 - t2).toFixed(3), total_s: +(t3 - t0).toFixed(3),
  }) + '\n');
}
