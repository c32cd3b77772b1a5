#!/usr/bin/env node
// Backs up and restores the services' Postgres schemas (gateway, coordinator, resources,
// conflicts, performance), one pg_dump file per schema plus a manifest, and checks integrity.
//
//   node scripts/backup.mjs backup  [--out DIR]        dump every schema from one snapshot into DIR
//   node scripts/backup.mjs restore DIR [--clean]      restore DIR into the target database, then verify
//   node scripts/backup.mjs verify  DIR                compare a database with DIR's manifest
//
// Options: --database-url URL (default DATABASE_URL, else postgres://postgres@127.0.0.1:5432/swarm_mesh;
// the source of a backup, the target of a restore or verify), --schemas a,b (default all five),
// --create (restore: create the target database when missing), --clean (restore: drop schemas that
// already exist in the target; without it the restore refuses to overwrite), --pg-bin DIR (where
// pg_dump/pg_restore are; default PATH, then the newest /usr/lib/postgresql/*/bin), --json.
//
// Integrity: every schema is dumped from one exported snapshot, and the manifest records, from that
// same snapshot, each table's row count and an order-independent checksum of its rows, each
// sequence's value, each schema's migrations, and each dump file's sha256. A restore checks the
// files' sha256 first, restores each schema in one transaction, then recomputes everything on the
// target and fails on any difference. Exit codes: 0 ok, 1 failed or refused, 2 usage error.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
/** The schema of each service (libs/contracts SERVICE_SCHEMAS; a test keeps the two equal). */
export const SCHEMAS = ['gateway', 'coordinator', 'resources', 'conflicts', 'performance'];
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/swarm_mesh';
const MANIFEST = 'manifest.json';
const FORMAT = 1;

class Failure extends Error {}
class Usage extends Error {}

const redact = (url) => url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
const qi = (s) => `"${String(s).replace(/"/g, '""')}"`;

function loadPg() {
  try {
    return require('pg');
  } catch {
    throw new Failure('the npm package "pg" is missing: run npm install first');
  }
}

/** Session settings under which row text (and so the checksums) is the same on every server. */
const STABLE_TEXT = [
  "SET TimeZone = 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  'SET extra_float_digits = 3',
  "SET bytea_output = 'hex'",
];

async function connect(url) {
  const { Client } = loadPg();
  const client = new Client({ connectionString: url, application_name: 'swarm-backup' });
  try {
    await client.connect();
  } catch (err) {
    throw new Failure(`cannot connect to ${redact(url)}: ${err.message}`);
  }
  for (const s of STABLE_TEXT) await client.query(s);
  return client;
}

function findPgBin(name, pgBin) {
  const dirs = [];
  if (pgBin) dirs.push(pgBin);
  if (process.env.PG_BIN_DIR) dirs.push(process.env.PG_BIN_DIR);
  dirs.push(...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean));
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    for (const v of readdirSync(base)
      .filter((d) => /^\d+(\.\d+)?$/.test(d))
      .sort((a, b) => Number(b) - Number(a)))
      dirs.push(path.join(base, v, 'bin'));
  }
  for (const d of dirs) {
    const f = path.join(d, name);
    if (existsSync(f)) return f;
  }
  throw new Failure(
    `${name} not found (PATH, /usr/lib/postgresql/*/bin): install the PostgreSQL client tools (e.g. apt-get install postgresql-client) or pass --pg-bin DIR`,
  );
}

function run(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Failure(`${path.basename(cmd)} exited with ${code}: ${err.trim() || out.trim()}`)),
    );
  });
}

function sha256File(file) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** pg_dump/pg_restore take the password from PGPASSWORD, never from their command line. */
function connectionArgs(url) {
  const u = new URL(url);
  const env = u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {};
  u.password = '';
  return { dsn: u.toString(), env };
}

/** Row counts, checksums, sequences and migrations of one schema, as the session sees them. */
async function fingerprint(client, schema) {
  const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  if (exists.rowCount === 0) return null;
  const tables = {};
  const t = await client.query(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1`,
    [schema],
  );
  for (const { name } of t.rows) {
    // order-independent: the md5 of the sorted md5s of the rows' text
    const r = await client.query(
      `SELECT count(*)::bigint AS rows, coalesce(md5(string_agg(h, '' ORDER BY h)), md5('')) AS checksum
         FROM (SELECT md5(x::text) AS h FROM ${qi(schema)}.${qi(name)} x) s`,
    );
    tables[name] = { rows: Number(r.rows[0].rows), checksum: r.rows[0].checksum };
  }
  const sequences = {};
  const s = await client.query(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'S' ORDER BY 1`,
    [schema],
  );
  for (const { name } of s.rows) {
    const v = await client.query(`SELECT last_value::text AS value, is_called FROM ${qi(schema)}.${qi(name)}`);
    sequences[name] = { lastValue: v.rows[0].value, isCalled: v.rows[0].is_called };
  }
  let migrations = null;
  if (tables.migrations) {
    const m = await client.query(`SELECT id, "timestamp"::text AS ts, name FROM ${qi(schema)}.migrations ORDER BY id`);
    migrations = m.rows.map((r) => ({ id: Number(r.id), timestamp: r.ts, name: r.name }));
  }
  return { tables, sequences, migrations };
}

/** Problems with a schema's migrations table on its own (whatever the manifest says). */
function migrationProblems(schema, fp) {
  const out = [];
  if (!fp.migrations) return [`${schema}: no migrations table`];
  if (fp.migrations.length === 0) out.push(`${schema}: the migrations table is empty`);
  const names = new Set();
  for (const m of fp.migrations) {
    if (names.has(m.name)) out.push(`${schema}: migration ${m.name} is recorded twice`);
    names.add(m.name);
  }
  return out;
}

/** Differences between a schema's recorded fingerprint and the live one. */
function compare(schema, want, got) {
  if (!got) return [`${schema}: the schema is missing`];
  const out = [];
  for (const [name, w] of Object.entries(want.tables)) {
    const g = got.tables[name];
    if (!g) out.push(`${schema}.${name}: table missing`);
    else if (g.rows !== w.rows) out.push(`${schema}.${name}: ${g.rows} rows, expected ${w.rows}`);
    else if (g.checksum !== w.checksum) out.push(`${schema}.${name}: row checksum differs (same count, different content)`);
  }
  for (const name of Object.keys(got.tables)) if (!want.tables[name]) out.push(`${schema}.${name}: table not in the backup`);
  for (const [name, w] of Object.entries(want.sequences)) {
    const g = got.sequences[name];
    if (!g) out.push(`${schema}.${name}: sequence missing`);
    else if (g.lastValue !== w.lastValue || g.isCalled !== w.isCalled)
      out.push(`${schema}.${name}: sequence at ${g.lastValue}, expected ${w.lastValue}`);
  }
  if (JSON.stringify(got.migrations) !== JSON.stringify(want.migrations)) {
    const w = (want.migrations ?? []).map((m) => m.name);
    const g = (got.migrations ?? []).map((m) => m.name);
    out.push(`${schema}: migrations differ (backup: ${w.join(', ') || 'none'}; database: ${g.join(', ') || 'none'})`);
  }
  out.push(...migrationProblems(schema, got));
  return out;
}

async function backup(opts) {
  const pgDump = findPgBin('pg_dump', opts.pgBin);
  const out = path.resolve(opts.out ?? path.join(ROOT, '.data', 'backups', new Date().toISOString().replace(/[:.]/g, '-')));
  if (existsSync(path.join(out, MANIFEST))) throw new Failure(`${out} already holds a backup; choose another --out`);
  mkdirSync(out, { recursive: true });
  const client = await connect(opts.databaseUrl);
  try {
    // one snapshot for every schema and for the manifest: a consistent cut across services
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snap = await client.query('SELECT pg_export_snapshot() AS id, current_setting($1) AS version, current_database() AS db', [
      'server_version',
    ]);
    const { id: snapshot, version, db } = snap.rows[0];
    const { dsn, env } = connectionArgs(opts.databaseUrl);
    const pgDumpVersion = (await run(pgDump, ['--version'])).trim();
    const manifest = {
      format: FORMAT,
      createdAt: new Date().toISOString(),
      database: db,
      serverVersion: version,
      pgDumpVersion,
      schemas: {},
    };
    for (const schema of opts.schemas) {
      const fp = await fingerprint(client, schema);
      if (!fp) {
        manifest.schemas[schema] = { absent: true };
        continue;
      }
      const file = `${schema}.dump`;
      await run(
        pgDump,
        [
          '--format=custom',
          '--no-owner',
          '--no-privileges',
          `--snapshot=${snapshot}`,
          `--schema=${schema}`,
          `--file=${path.join(out, file)}`,
          `--dbname=${dsn}`,
        ],
        env,
      );
      manifest.schemas[schema] = { file, sha256: await sha256File(path.join(out, file)), ...fp };
      const problems = migrationProblems(schema, fp);
      if (problems.length) manifest.schemas[schema].warnings = problems;
    }
    await client.query('COMMIT');
    writeFileSync(path.join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    return { action: 'backup', dir: out, manifest };
  } finally {
    await client.end().catch(() => {});
  }
}

function readManifest(dir) {
  const file = path.join(path.resolve(dir), MANIFEST);
  if (!existsSync(file)) throw new Failure(`${file} not found: not a backup folder`);
  const m = JSON.parse(readFileSync(file, 'utf8'));
  if (m.format !== FORMAT) throw new Failure(`${file}: unknown manifest format ${m.format}`);
  return m;
}

async function ensureDatabase(url, create) {
  const { Client } = loadPg();
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const c = new Client({ connectionString: admin.toString(), application_name: 'swarm-backup' });
  await c.connect().catch((err) => {
    throw new Failure(`cannot connect to ${redact(admin.toString())}: ${err.message}`);
  });
  try {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount > 0) return;
    if (!create) throw new Failure(`database ${name} does not exist on the target (add --create to create it)`);
    await c.query(`CREATE DATABASE ${qi(name)}`);
  } finally {
    await c.end().catch(() => {});
  }
}

async function verify(opts, manifest) {
  const client = await connect(opts.databaseUrl);
  const problems = [];
  const checked = {};
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    for (const schema of opts.schemas) {
      const want = manifest.schemas[schema];
      if (!want) {
        problems.push(`${schema}: not in the backup`);
        continue;
      }
      if (want.absent) continue;
      const got = await fingerprint(client, schema);
      const p = compare(schema, want, got);
      problems.push(...p);
      checked[schema] = {
        tables: Object.keys(want.tables).length,
        rows: Object.values(want.tables).reduce((n, t) => n + t.rows, 0),
        migrations: (want.migrations ?? []).length,
        ok: p.length === 0,
      };
    }
    await client.query('COMMIT');
  } finally {
    await client.end().catch(() => {});
  }
  return { problems, checked };
}

async function restore(opts) {
  const manifest = readManifest(opts.dir);
  const dir = path.resolve(opts.dir);
  const pgRestore = findPgBin('pg_restore', opts.pgBin);
  // the files first: a damaged backup restores nothing
  for (const schema of opts.schemas) {
    const s = manifest.schemas[schema];
    if (!s) throw new Failure(`${schema}: not in the backup ${dir}`);
    if (s.absent) continue;
    const file = path.join(dir, s.file);
    if (!existsSync(file)) throw new Failure(`${file} is missing`);
    const sum = await sha256File(file);
    if (sum !== s.sha256) throw new Failure(`${file} is damaged: sha256 ${sum}, the manifest says ${s.sha256}`);
  }
  await ensureDatabase(opts.databaseUrl, opts.create);
  const client = await connect(opts.databaseUrl);
  try {
    const present = (await client.query('SELECT nspname FROM pg_namespace WHERE nspname = ANY($1)', [opts.schemas])).rows.map(
      (r) => r.nspname,
    );
    const toRestore = opts.schemas.filter((s) => !manifest.schemas[s].absent);
    const clash = present.filter((s) => toRestore.includes(s));
    if (clash.length && !opts.clean) {
      throw new Failure(`the target already has schema(s) ${clash.join(', ')}: stop the services and add --clean to replace them`);
    }
    for (const schema of clash) await client.query(`DROP SCHEMA ${qi(schema)} CASCADE`);
  } finally {
    await client.end().catch(() => {});
  }
  const { dsn, env } = connectionArgs(opts.databaseUrl);
  for (const schema of opts.schemas) {
    const s = manifest.schemas[schema];
    if (s.absent) continue;
    await run(
      pgRestore,
      ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--dbname=${dsn}`, path.join(dir, s.file)],
      env,
    );
  }
  const v = await verify(opts, manifest);
  return { action: 'restore', dir, ...v };
}

function parseArgs(argv) {
  const opts = {
    command: null,
    dir: null,
    out: null,
    databaseUrl: process.env.DATABASE_URL || DEFAULT_DATABASE_URL,
    schemas: SCHEMAS,
    create: false,
    clean: false,
    pgBin: null,
    json: false,
  };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Usage(`${a} needs a value`);
      return v;
    };
    if (a === '--json') opts.json = true;
    else if (a === '--clean') opts.clean = true;
    else if (a === '--create') opts.create = true;
    else if (a === '--out') opts.out = value();
    else if (a === '--database-url') opts.databaseUrl = value();
    else if (a === '--pg-bin') opts.pgBin = value();
    else if (a === '--schemas') {
      opts.schemas = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = opts.schemas.filter((s) => !SCHEMAS.includes(s));
      if (unknown.length || opts.schemas.length === 0)
        throw new Usage(`--schemas takes names from ${SCHEMAS.join(', ')} (got ${unknown.join(', ') || 'none'})`);
    } else if (a === '--help' || a === '-h') opts.command = 'help';
    else if (a.startsWith('--')) throw new Usage(`unknown option ${a}`);
    else rest.push(a);
  }
  if (opts.command !== 'help') {
    opts.command = rest[0] ?? null;
    opts.dir = rest[1] ?? null;
    if (!['backup', 'restore', 'verify'].includes(opts.command))
      throw new Usage(`unknown command "${opts.command ?? ''}": backup, restore or verify`);
    if (opts.command !== 'backup' && !opts.dir) throw new Usage(`${opts.command} needs the backup folder`);
    if (opts.command === 'backup' && opts.dir) opts.out ??= opts.dir;
  }
  return opts;
}

function usage() {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  return lines
    .slice(
      1,
      lines.findIndex((l) => l.startsWith('import')),
    )
    .map((l) => l.replace(/^\/\/ ?/, ''))
    .join('\n');
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
    if (opts.command === 'help') {
      process.stdout.write(`${usage()}\n`);
      return 0;
    }
    let result;
    if (opts.command === 'backup') result = await backup(opts);
    else if (opts.command === 'restore') result = await restore(opts);
    else result = { action: 'verify', dir: path.resolve(opts.dir), ...(await verify(opts, readManifest(opts.dir))) };
    const ok = !result.problems || result.problems.length === 0;
    if (opts.json) process.stdout.write(`${JSON.stringify({ ok, ...result })}\n`);
    else if (result.action === 'backup') {
      process.stdout.write(`backup of ${redact(opts.databaseUrl)} in ${result.dir}\n`);
      for (const [schema, s] of Object.entries(result.manifest.schemas)) {
        if (s.absent) process.stdout.write(`  ${schema}: not in the database, skipped\n`);
        else
          process.stdout.write(
            `  ${schema}: ${Object.keys(s.tables).length} tables, ${Object.values(s.tables).reduce((n, t) => n + t.rows, 0)} rows, ${(s.migrations ?? []).length} migrations${s.warnings ? ` (warnings: ${s.warnings.join('; ')})` : ''}\n`,
          );
      }
    } else {
      for (const [schema, c] of Object.entries(result.checked))
        process.stdout.write(`  ${schema}: ${c.tables} tables, ${c.rows} rows, ${c.migrations} migrations: ${c.ok ? 'ok' : 'DIFFERENT'}\n`);
      for (const p of result.problems) process.stdout.write(`  ! ${p}\n`);
      process.stdout.write(
        `${result.action} ${ok ? 'ok' : 'FAILED'}: ${redact(opts.databaseUrl)} ${ok ? 'matches' : 'does not match'} ${result.dir}\n`,
      );
    }
    return ok ? 0 : 1;
  } catch (err) {
    if (err instanceof Failure || err instanceof Usage) {
      if (opts?.json) process.stdout.write(`${JSON.stringify({ ok: false, error: err.message })}\n`);
      process.stderr.write(`backup: ${err.message}\n`);
      return err instanceof Usage ? 2 : 1;
    }
    throw err;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => (process.exitCode = code),
    (err) => {
      process.stderr.write(`backup: ${err.stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
