import { Client } from 'pg';
import type { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { ensureDatabase, isTransientDbError, openServiceDataSource, pingDatabase } from '@swarm-mesh/persistence';
import { createTestDatabase, eventually, type TestDatabase } from '@swarm-mesh/testing';

jest.setTimeout(60_000);

/** Counts how often each migration really ran (up() calls), across data sources in this file. */
const runs = { init: 0, second: 0 };

class WidgetsInit1700000000000 implements MigrationInterface {
  name = 'WidgetsInit1700000000000';
  async up(q: QueryRunner): Promise<void> {
    runs.init++;
    // unqualified on purpose: search_path must point at the service's schema
    await q.query(`CREATE TABLE widgets (id serial PRIMARY KEY, name text NOT NULL)`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE widgets`);
  }
}

class Broken1700000000002 implements MigrationInterface {
  name = 'Broken1700000000002';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE broken (id int)`);
    await q.query(`SELECT no_such_function()`);
  }
  async down(): Promise<void> {}
}

class WidgetsColour1700000000001 implements MigrationInterface {
  name = 'WidgetsColour1700000000001';
  async up(q: QueryRunner): Promise<void> {
    runs.second++;
    await q.query(`ALTER TABLE widgets ADD COLUMN colour text`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE widgets DROP COLUMN colour`);
  }
}

describe('openServiceDataSource', () => {
  let db: TestDatabase;
  let admin: Client;
  const opened: DataSource[] = [];

  const open = async (schema: string, extra: Partial<Parameters<typeof openServiceDataSource>[0]> = {}): Promise<DataSource> => {
    const ds = await openServiceDataSource({
      url: db.url,
      schema,
      entities: [],
      migrations: [WidgetsInit1700000000000, WidgetsColour1700000000001],
      poolMax: 4,
      ...extra,
    });
    opened.push(ds);
    return ds;
  };

  const tables = async (): Promise<Array<{ schema: string; table: string }>> => {
    const r = await admin.query<{ schema: string; table: string }>(
      `SELECT table_schema AS schema, table_name AS table FROM information_schema.tables
        WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
    );
    return r.rows;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = new Client({ connectionString: db.url });
    await admin.connect();
  });

  afterAll(async () => {
    for (const ds of opened) if (ds.isInitialized) await ds.destroy();
    await admin?.end();
    await db?.drop();
  });

  it('creates the schema, runs the migrations into it and keeps the migrations table there', async () => {
    const ds = await open('alpha');
    expect(runs).toEqual({ init: 1, second: 1 });
    expect(await tables()).toEqual([
      { schema: 'alpha', table: 'migrations' },
      { schema: 'alpha', table: 'widgets' },
    ]);
    const applied = await admin.query<{ name: string }>('SELECT name FROM alpha.migrations ORDER BY id');
    expect(applied.rows.map((r) => r.name)).toEqual(['WidgetsInit1700000000000', 'WidgetsColour1700000000001']);
    // the pool's sessions resolve unqualified names in the service's schema
    await ds.query(`INSERT INTO widgets (name, colour) VALUES ('w', 'red')`);
    const [row] = await ds.query<Array<{ s: string; n: number }>>('SELECT current_schema() AS s, count(*)::int AS n FROM widgets');
    expect(row).toEqual({ s: 'alpha', n: 1 });
  });

  it('does not run applied migrations again on reopen', async () => {
    await open('alpha');
    expect(runs).toEqual({ init: 1, second: 1 });
  });

  it('runs the migrations once when two replicas open the same schema concurrently', async () => {
    const before = { ...runs };
    const [a, b, c] = await Promise.all([open('beta'), open('beta'), open('beta')]);
    expect(runs.init - before.init).toBe(1);
    expect(runs.second - before.second).toBe(1);
    const applied = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM beta.migrations');
    expect(applied.rows[0]!.n).toBe(2);
    for (const ds of [a, b, c]) expect(ds.isInitialized).toBe(true);
  });

  it('keeps schemas apart: nothing lands in public', async () => {
    const all = await tables();
    expect(all.filter((t) => t.schema === 'public')).toEqual([]);
    expect(new Set(all.map((t) => t.schema))).toEqual(new Set(['alpha', 'beta']));
    expect(all.filter((t) => t.table === 'migrations').map((t) => t.schema)).toEqual(['alpha', 'beta']);
  });

  it('works with a pool of one connection', async () => {
    const ds = await open('gamma', { poolMax: 1 });
    expect(await pingDatabase(ds, 2_000)).toBeGreaterThanOrEqual(0);
    const applied = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM gamma.migrations');
    expect(applied.rows[0]!.n).toBe(2);
  });

  it('can skip migrations', async () => {
    await open('delta', { runMigrations: false });
    const all = await tables();
    expect(all.filter((t) => t.schema === 'delta')).toEqual([]);
    const schema = await admin.query(`SELECT 1 FROM information_schema.schemata WHERE schema_name = 'delta'`);
    expect(schema.rowCount).toBe(1);
  });

  it('sets application_name so sessions are attributable', async () => {
    const ds = await open('epsilon', { applicationName: 'svc-epsilon' });
    const [row] = await ds.query<Array<{ a: string }>>(`SELECT current_setting('application_name') AS a`);
    expect(row!.a).toBe('svc-epsilon');
  });

  it('re-plans prepared statements as a table grows (no generic plan frozen while it was tiny)', async () => {
    const ds = await open('svc_plans', { runMigrations: false });
    const q = ds.createQueryRunner();
    try {
      await q.query(`CREATE TABLE items (id uuid PRIMARY KEY, state text NOT NULL)`);
      await q.query(`INSERT INTO items SELECT gen_random_uuid(), 'queued' FROM generate_series(1, 10)`);
      // the coordinator's tick shape: rows as one JSON parameter joined on the primary key
      await q.query(`PREPARE upd(jsonb) AS UPDATE items t SET state = v.state
                       FROM jsonb_to_recordset($1) AS v(id uuid, state text) WHERE t.id = v.id`);
      const row = JSON.stringify([{ id: '00000000-0000-4000-8000-000000000000', state: 'done' }]);
      // past the five custom plans after which Postgres would otherwise settle on a generic one
      for (let i = 0; i < 8; i++) await q.query(`EXECUTE upd('${row}')`);
      await q.query(`INSERT INTO items SELECT gen_random_uuid(), 'queued' FROM generate_series(1, 50000)`);
      const plan = (await q.query(`EXPLAIN EXECUTE upd('${row}')`)) as Array<{ 'QUERY PLAN': string }>;
      const text = plan.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).toContain('Index Scan');
      expect(text).not.toContain('Seq Scan on items');
    } finally {
      await q.release();
    }
  });

  it('a failing migration rolls back, rejects, and closes every connection it opened', async () => {
    // TypeORM reports the failed migration on console.log even with logging off
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    await expect(
      openServiceDataSource({
        url: db.url,
        schema: 'zeta',
        entities: [],
        migrations: [Broken1700000000002],
        applicationName: 'svc-broken',
      }),
    ).rejects.toThrow(/no_such_function/);
    log.mockRestore();
    const all = await tables();
    expect(all.filter((t) => t.schema === 'zeta')).toEqual([{ schema: 'zeta', table: 'migrations' }]);
    await eventually(
      async () => {
        const r = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'svc-broken'`);
        return r.rows[0]!.n === 0;
      },
      { timeoutMs: 5_000, description: 'sessions of the failed data source closed' },
    );
  });

  it('rejects schema names that are not plain identifiers', async () => {
    await expect(open('bad"; DROP SCHEMA alpha; --')).rejects.toThrow(/invalid SQL identifier/);
    await expect(open('Upper')).rejects.toThrow(/invalid SQL identifier/);
  });
});

describe('ensureDatabase', () => {
  it('creates a missing database, tolerates concurrent callers and existing ones', async () => {
    const holder = await createTestDatabase();
    // a sibling name on the same server that does not exist yet
    const url = new URL(holder.url);
    const name = `${holder.name}_x`;
    url.pathname = `/${name}`;
    try {
      await Promise.all([ensureDatabase(url.toString()), ensureDatabase(url.toString())]);
      await ensureDatabase(url.toString());
      const c = new Client({ connectionString: url.toString() });
      await c.connect();
      const r = await c.query<{ d: string }>('SELECT current_database() AS d');
      await c.end();
      expect(r.rows[0]!.d).toBe(name);
    } finally {
      const admin = new Client({ connectionString: holder.url });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
      await holder.drop();
    }
  });
});

describe('isTransientDbError', () => {
  it.each([
    [{ code: '08006' }, true],
    [{ code: '57P01' }, true],
    [{ code: '40001' }, true],
    [{ code: '40P01' }, true],
    [{ code: 'ECONNREFUSED' }, true],
    [{ message: 'Connection terminated unexpectedly' }, true],
    [{ code: '23505' }, false],
    [{ code: '42P01' }, false],
    [new Error('syntax error'), false],
    [null, false],
  ])('%j → %j', (err, expected) => {
    expect(isTransientDbError(err)).toBe(expected);
  });
});
