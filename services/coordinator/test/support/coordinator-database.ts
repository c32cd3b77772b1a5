import { SERVICE_SCHEMAS } from '@swarm-mesh/contracts';
import { openServiceDataSource } from '@swarm-mesh/persistence';
import { createTestDatabase } from '@swarm-mesh/testing';
import type { DataSource } from 'typeorm';
import { COORDINATOR_MIGRATIONS } from '../../src/migrations';

/** A throw-away database with the coordinator's schema migrated, for tests that use its store directly. */
export interface CoordinatorDatabase {
  ds: DataSource;
  /** Closes the data source and drops the database. */
  close(): Promise<void>;
}

/** Creates a test database (name starting with `prefix`) and runs the coordinator's migrations in it. */
export async function openCoordinatorDatabase(options: { prefix?: string; poolMax?: number } = {}): Promise<CoordinatorDatabase> {
  const db = await createTestDatabase(options.prefix ? { prefix: options.prefix } : {});
  try {
    const ds = await openServiceDataSource({
      url: db.url,
      schema: SERVICE_SCHEMAS.coordinator,
      entities: [],
      migrations: COORDINATOR_MIGRATIONS,
      ...(options.poolMax !== undefined ? { poolMax: options.poolMax } : {}),
    });
    return {
      ds,
      close: async () => {
        if (ds.isInitialized) await ds.destroy();
        await db.drop();
      },
    };
  } catch (err) {
    await db.drop();
    throw err;
  }
}
