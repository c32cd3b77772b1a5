import { Client } from 'pg';
import { randomNamespace } from './namespace';

/** The admin connection used to create test databases: TEST_DATABASE_URL, DATABASE_URL, or the local default. */
export function adminDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
}

/** A database created for one test file. */
export interface TestDatabase {
  /** Connection URL of the new database (same host and credentials as the admin URL). */
  url: string;
  name: string;
  /** Terminates every connection to it, then drops it. Safe to call twice. */
  drop(): Promise<void>;
}

async function adminClient(adminUrl: string): Promise<Client> {
  const client = new Client({ connectionString: adminUrl });
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    // the admin URL may name a database that does not exist yet (e.g. swarm_mesh): use `postgres`
    if ((err as { code?: string }).code !== '3D000') throw err;
    const fallback = new URL(adminUrl);
    fallback.pathname = '/postgres';
    const c = new Client({ connectionString: fallback.toString() });
    await c.connect();
    return c;
  }
}

/** Creates a uniquely named, empty database on the admin URL's server. */
export async function createTestDatabase(options: { adminUrl?: string; prefix?: string } = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? adminDatabaseUrl();
  const name = `${options.prefix ?? 'swarm_test'}_${randomNamespace()}`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid database name "${name}"`);
  const admin = await adminClient(adminUrl);
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      const c = await adminClient(adminUrl);
      try {
        await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
