// readers.mjs - loads the independent readers installed by
// tests/oracle/setup.sh (tests/oracle/node_modules) from scripts in tests/lake/.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const oracle = join(dirname(fileURLToPath(import.meta.url)), '..', 'oracle');
const mod = (rel) => import(pathToFileURL(join(oracle, 'node_modules', rel)).href);

export const duckdb = () => import(createRequire(join(oracle, 'package.json')).resolve('@duckdb/node-api'));
export const icebird = () => mod('icebird/src/index.js');
export const hyparquet = () => mod('hyparquet/src/node.js');
