import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { trackChild } from './children';
import { eventually } from './eventually';
import { LineBuffer } from './lines';

/** A Postgres server of the test's own, for fault tests (restart, kill). Never the shared one. */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`; stays the same across restarts. */
  readonly adminUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /** URL of a database on this server (created by `createDatabase`). */
  urlFor(database: string): string;
  createDatabase(name: string): Promise<string>;
  logs(): string[];
  running(): boolean;
  /** Fast shutdown (SIGINT); data kept. */
  stop(): Promise<void>;
  /** SIGKILL (crash); data kept, recovery runs at the next start. */
  kill(): Promise<void>;
  /** Stops it if running, then starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Stops it and deletes its folder. Call in afterAll. */
  close(): Promise<void>;
}

function findBinaries(): { initdb: string; postgres: string } {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const dir = join(base, v, 'bin');
      if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')))
        return { initdb: join(dir, 'initdb'), postgres: join(dir, 'postgres') };
    }
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb && command -v postgres'], { encoding: 'utf8' });
  const [initdb, postgres] = which.stdout.trim().split('\n');
  if (which.status === 0 && initdb && postgres) return { initdb, postgres };
  throw new Error('startPrivatePostgres: initdb/postgres not found (install postgresql or put them on PATH)');
}

/** Postgres refuses root: as root, run it as the `postgres` user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error('startPrivatePostgres: running as root needs a "postgres" user');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a private Postgres (initdb into a temporary folder, trust auth, TCP on a random port,
 * fsync on) for tests that restart or kill the database.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bins = findBinaries();
  const ids = runAs();
  const root = mkdtempSync(join(tmpdir(), 'swarm-pg-'));
  const dataDir = join(root, 'data');
  chmodSync(root, 0o755);
  if (ids) chownSync(root, ids.uid, ids.gid);
  const init = spawnSync(bins.initdb, ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], {
    encoding: 'utf8',
    ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const output = new LineBuffer(300);
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;

  const start = async (): Promise<void> => {
    const c = spawn(
      bins.postgres,
      ['-D', dataDir, '-p', String(port), '-k', root, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
      { stdio: ['ignore', 'pipe', 'pipe'], ...(ids ? { uid: ids.uid, gid: ids.gid } : {}) },
    );
    trackChild(c);
    child = c;
    output.attach(c.stdout);
    output.attach(c.stderr);
    exited = new Promise<void>((r) => c.once('exit', () => r()));
    await eventually(
      async () => {
        if (c.exitCode !== null) throw new Error(`postgres exited: ${output.text()}`);
        const client = new Client({ connectionString: adminUrl });
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } finally {
          await client.end().catch(() => {});
        }
      },
      { timeoutMs: 30_000, intervalMs: 100, description: 'private postgres to accept connections' },
    );
  };

  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    c.kill(sig);
    await exited;
    child = null;
  };

  await start();
  const urlFor = (db: string): string => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    adminUrl,
    port,
    dataDir,
    urlFor,
    async createDatabase(name: string) {
      const client = new Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      } finally {
        await client.end();
      }
      return urlFor(name);
    },
    logs: () => output.all(),
    running: () => child !== null && child.exitCode === null,
    stop: () => signal('SIGINT'),
    kill: () => signal('SIGKILL'),
    async restart() {
      await signal('SIGINT');
      await start();
    },
    async close() {
      await signal('SIGINT');
      rmSync(root, { recursive: true, force: true });
    },
  };
}
