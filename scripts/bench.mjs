#!/usr/bin/env node
// `npm run bench [-- options]`: runs the benchmark compiled from bench/src (see bench/README.md).
// Needs `npm run build` first; the last line of stdout is the JSON result (CONTRACT.md).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'bench', 'dist', 'main.js');
const needed = [entry, ...['gateway', 'coordinator'].map((s) => path.join(root, 'services', s, 'dist', 'main.js'))];
const missing = needed.filter((f) => !existsSync(f));
if (missing.length > 0) {
  process.stderr.write(`bench: ${path.relative(root, missing[0])} is missing; run "npm run build" first\n`);
  process.exit(2);
}
const { main } = createRequire(import.meta.url)(entry);
process.exit(await main(process.argv.slice(2)));
