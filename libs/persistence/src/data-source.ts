import { DataSource, type DataSourceOptions, type MixedList, type EntitySchema } from 'typeorm';
import { Client } from 'pg';
import { type Logger, silentLogger } from '@swarm-mesh/telemetry';

/** Options of `openServiceDataSource`. */
export interface ServiceDataSourceOptions {
  /** `postgres://user:pass@host:port/db`. Required. */
  url: string;
  /** The service's own schema; tables and the migrations table live here. Required. */
  schema: string;
  /** Entity classes of this service. */
  entities: MixedList<Function | string | EntitySchema>;
  /** Migration classes of this service, oldest first. */
  migrations: MixedList<Function | string>;
  /** Pool size. Default 10. */
  poolMax?: number;
  /** Create the database when it does not exist (local runs). Default true. */
  createDatabaseIfMissing?: boolean;
  /** Run pending migrations on open. Default true. */
  runMigrations?: boolean;
  /** `application_name` shown in pg_stat_activity. Default the schema. */
  applicationName?: string;
  /** Tests only: create tables from entities instead of migrations. Default false. */
  synchronizeForTests?: boolean;
  /** Statement timeout in ms (0 = none). Default 30 000. */
  statementTimeoutMs?: number;
  logger?: Logger;
}

const IDENT_RE = /^[a-z_][a-z0-9_]{0,62}$/;

function quoteIdent(name: string): string {
  if (!IDENT_RE.test(name)) throw new Error(`invalid SQL identifier "${name}"`);
  return `"${name}"`;
}

/** Creates the database named in `url` when it does not exist. */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const dbName = decodeURIComponent(target.pathname.replace(/^\//, '')) || 'postgres';
  const probe = new Client({ connectionString: url });
  try {
    await probe.connect();
    await probe.end();
    return;
  } catch (err) {
    await probe.end().catch(() => {});
    if ((err as { code?: string }).code !== '3D000') throw err;
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(dbName)}`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw err; // created concurrently
  } finally {
    await client.end();
  }
}

/**
 * Opens the service's DataSource bound to its schema: creates the database (optional) and the
 * schema, then runs the service's own migrations. `synchronize` is never on outside tests.
 */
export async function openServiceDataSource(options: ServiceDataSourceOptions): Promise<DataSource> {
  const logger = options.logger ?? silentLogger;
  if (options.createDatabaseIfMissing ?? true) await ensureDatabase(options.url);
  const schema = options.schema;
  const bootstrap = new Client({ connectionString: options.url });
  await bootstrap.connect();
  try {
    await bootstrap.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  } catch (err) {
    // concurrent CREATE SCHEMA IF NOT EXISTS from two replicas can race on the catalog
    if ((err as { code?: string }).code !== '23505') throw err;
  } finally {
    await bootstrap.end();
  }
  const dsOptions: DataSourceOptions = {
    type: 'postgres',
    url: options.url,
    schema,
    entities: options.entities,
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: options.synchronizeForTests ?? false,
    logging: false,
    applicationName: options.applicationName ?? schema,
    extra: {
      max: options.poolMax ?? 10,
      // force_custom_plan: a named (prepared) statement is planned for its parameters on every
      // execution. Otherwise Postgres switches to a generic plan after five runs and keeps it
      // until the table's statistics change; the coordinator's tick statement, prepared while
      // coordinator.tasks was still tiny, kept a sequential scan + hash join that way — every
      // tick read the whole table (O(tasks) per commit) until autovacuum happened to analyze it.
      options: `-c search_path=${quoteIdent(schema)} -c plan_cache_mode=force_custom_plan`,
      statement_timeout: options.statementTimeoutMs ?? 30_000,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    },
  };
  const ds = new DataSource(dsOptions);
  await ds.initialize();
  if (options.runMigrations ?? true) {
    // one migrator at a time per schema, even with several replicas starting together. The lock
    // lives on its own connection, outside the pool: with a pool of one (DB_POOL_MAX=1) a pooled
    // lock connection would leave none for the migrations and deadlock until the pool timeout.
    const lockKey = hashKey(`swarm-migrations:${schema}`);
    const lock = new Client({ connectionString: options.url, application_name: options.applicationName ?? schema });
    try {
      await lock.connect();
      await lock.query('SELECT pg_advisory_lock($1)', [lockKey]);
      const applied = await ds.runMigrations({ transaction: 'each' });
      if (applied.length > 0) logger.info('migrations applied', { schema, migrations: applied.map((m) => m.name) });
    } catch (err) {
      // do not leak the pool when the caller retries
      await ds.destroy().catch(() => {});
      throw err;
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [lockKey]).catch(() => {});
      await lock.end().catch(() => {});
    }
  }
  return ds;
}

function hashKey(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Postgres errors worth retrying (connection loss, shutdown, serialization, deadlock). */
export function isTransientDbError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? '';
  if (
    code.startsWith('08') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code === '40001' ||
    code === '40P01' ||
    code === '53300'
  )
    return true;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'EPIPE') return true;
  return /Connection terminated|connection timeout|terminating connection|Client has encountered a connection error/i.test(
    e?.message ?? '',
  );
}

/** Round-trips `SELECT 1` within a deadline. */
export async function pingDatabase(ds: DataSource, timeoutMs: number): Promise<number> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ds.query('SELECT 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`postgres did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
  return performance.now() - started;
}
