// ice_check.mjs TABLE_DIR EXPECTED.json [SNAPSHOT_ID] - reads an Iceberg
// table with icebird (metadata JSON through version-hint.text, Avro manifest
// list and manifests, Parquet data, equality and position deletes) and
// compares its rows with the expected ones (as a multiset); checks every live
// data file's size and row count against its manifest entry with hyparquet.
// Ends with "ice-check: N passed, M failed"; exit 1 on failure.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { icebird, hyparquet } from './readers.mjs';
import { installLocalFetch } from './localfetch.mjs';

const [tableDir, expectedPath, snap] = process.argv.slice(2);
installLocalFetch();
const { icebergMetadata, icebergManifests, icebergRead } = await icebird();
const { asyncBufferFromUrl, parquetMetadataAsync } = await hyparquet();
let pass = 0, fail = 0;
const check = (c, m) => { if (c) pass++; else { fail++; console.log('FAIL: ' + m); } };
const norm = (r) => JSON.stringify(['session_id', 'user_id', 'session_start', 'country', 'events', 'revenue'].map((k) => {
  const v = r[k];
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint' || k === 'session_id' || k === 'events') return String(v);
  if (v instanceof Date) return v.toISOString();
  return v;
}));
try {
  const tableUrl = 'file://' + resolve(tableDir);
  const md = await icebergMetadata({ tableUrl });
  check(md['format-version'] === 2, 'format-version 2');
  if (snap) {
    check(md.snapshots.some((s) => String(s['snapshot-id']) === snap), `snapshot ${snap} is in the metadata`);
    md['current-snapshot-id'] = Number(snap);
  }
  const manifests = await icebergManifests(md);
  const live = manifests.flatMap((m) => m.entries).filter((e) => e.status !== 2 && e.data_file.content === 0);
  for (const e of live) {
    const f = e.data_file;
    const buf = await asyncBufferFromUrl({ url: f.file_path });
    const pm = await parquetMetadataAsync(buf);
    check(BigInt(buf.byteLength) === BigInt(f.file_size_in_bytes), `${f.file_path}: size matches the manifest`);
    check(BigInt(pm.num_rows) === BigInt(f.record_count), `${f.file_path}: row count matches the manifest`);
  }
  const rows = (await icebergRead({ tableUrl, metadata: md })).map(norm).sort();
  const want = JSON.parse(readFileSync(expectedPath, 'utf8')).map(norm).sort();
  const same = rows.length === want.length && rows.every((r, i) => r === want[i]);
  check(same, `rows equal the expected ${want.length} (read ${rows.length})`);
  if (!same) {
    const ws = new Set(want), rs = new Set(rows);
    for (const r of rows) if (!ws.has(r)) console.log('  unexpected ' + r);
    for (const r of want) if (!rs.has(r)) console.log('  missing    ' + r);
  }
  console.log(`rows: ${rows.length} from ${live.length} data file(s)`);
} catch (e) {
  check(false, `${e.message}${e.cause ? ' / ' + e.cause.message : ''}`);
}
console.log(`ice-check: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
