import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

/** The node-postgres pool under a TypeORM Postgres data source. */
export function pgPoolOf(dataSource: DataSource): Pool {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool) throw new Error('the data source is not connected to Postgres (no pool)');
  return pool;
}

/**
 * Runs a hot statement as a named prepared statement on the data source's pool: Postgres parses
 * and plans it once per connection instead of on every call (TypeORM's `query()` sends an unnamed
 * statement each time). For a one-row audit insert that is ~100 µs less Postgres CPU and latency
 * per call (scratch measurement: backend 176–192 → 76–80 µs). `name` must be unique per distinct
 * `text` in the process. Returns the rows.
 */
export async function preparedQuery<R = Record<string, unknown>>(
  dataSource: DataSource,
  name: string,
  text: string,
  values: unknown[],
): Promise<R[]> {
  const { rows } = await pgPoolOf(dataSource).query({ name, text, values });
  return rows as R[];
}
