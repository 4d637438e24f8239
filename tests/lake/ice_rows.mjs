// ice_rows.mjs TABLE_DIR [SNAPSHOT_ID] - prints the rows of an Iceberg table
// as icebird reads them (metadata through version-hint.text or $ICE_METADATA, Avro manifests,
// Parquet data files, equality deletes), one JSON object per line: integers
// (bigint) as numbers, timestamps as ISO-8601 strings with milliseconds.
// Also prints, to stderr, the snapshot read and its summary.
//
// icebird applies an equality delete by comparing values with ===, which
// never holds for the Date objects hyparquet makes of timestamps; the
// hyparquet copy icebird loads is therefore told to give timestamps as
// strings "ts:<microseconds>" (primitives), turned back into ISO text here.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { icebird } from './readers.mjs';
import { installLocalFetch } from './localfetch.mjs';

const nm = join(dirname(fileURLToPath(import.meta.url)), '..', 'oracle', 'node_modules');
for (const conv of [join(nm, 'icebird', 'node_modules', 'hyparquet', 'src', 'convert.js'),
  join(nm, 'hyparquet', 'src', 'convert.js')]) {
  if (!existsSync(conv)) continue;
  const { DEFAULT_PARSERS } = await import(pathToFileURL(conv).href);
  DEFAULT_PARSERS.timestampFromMicroseconds = (us) => 'ts:' + BigInt(us).toString();
}
const iso = (us) => {
  const ms = us / 1000n, frac = ((us % 1000000n) + 1000000n) % 1000000n;
  return new Date(Number(ms)).toISOString().slice(0, 19) + '.' + frac.toString().padStart(6, '0') + 'Z';
};

const [tableDir, snap] = process.argv.slice(2);
installLocalFetch();
const { icebergMetadata, icebergRead } = await icebird();
const tableUrl = 'file://' + resolve(tableDir);
// ICE_METADATA: the metadata file a catalog records (else version-hint.text)
const metadataFileName = process.env.ICE_METADATA ? process.env.ICE_METADATA.split('/').pop() : undefined;
const md = await icebergMetadata({ tableUrl, metadataFileName });
if (snap) md['current-snapshot-id'] = Number(snap);
const cur = (md.snapshots || []).find((s) => s['snapshot-id'] === md['current-snapshot-id']);
process.stderr.write(JSON.stringify({ snapshot: md['current-snapshot-id'], summary: cur ? cur.summary : null }) + '\n');
const rows = cur ? await icebergRead({ tableUrl, metadata: md }) : [];
const out = [];
for (const r of rows) {
  const o = {};
  for (const [k, v] of Object.entries(r)) {
    if (typeof v === 'bigint') o[k] = Number(v);
    else if (v instanceof Date) o[k] = v.toISOString();
    else if (typeof v === 'string' && v.startsWith('ts:')) o[k] = iso(BigInt(v.slice(3)));
    else o[k] = v === undefined ? null : v;
  }
  out.push(JSON.stringify(o));
}
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
