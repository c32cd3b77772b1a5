import type { DataSource } from 'typeorm';
import { type CoordinatorDatabase, openCoordinatorDatabase } from './support/coordinator-database';

/** attstorage (e = external, x = extended) and attcompression (l = lz4, '' = the default) of outbox.payload. */
async function payloadStorage(ds: DataSource): Promise<{ storage: string; compression: string }> {
  const rows = await ds.query<Array<{ storage: string; compression: string }>>(
    `SELECT attstorage AS storage, attcompression::text AS compression FROM pg_attribute
      WHERE attrelid = 'coordinator.outbox'::regclass AND attname = 'payload'`,
  );
  return rows[0]!;
}

describe('coordinator outbox storage migrations', () => {
  let cdb: CoordinatorDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    cdb = await openCoordinatorDatabase({ prefix: 'swarm_coord_mig', poolMax: 2 });
    ds = cdb.ds;
  });

  afterAll(async () => {
    await cdb?.close();
  });

  it('stores outbox payloads lz4-compressed where the server has lz4, and the migration reverts to uncompressed and back', async () => {
    const lz4 =
      (await ds.query<unknown[]>(`SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)`)).length >
      0;
    const migrated = lz4 ? { storage: 'x', compression: 'l' } : { storage: 'e', compression: '' };
    expect(await payloadStorage(ds)).toEqual(migrated);
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await payloadStorage(ds)).toEqual({ storage: 'e', compression: '' });
    await ds.runMigrations({ transaction: 'each' });
    expect(await payloadStorage(ds)).toEqual(migrated);
    // a 40 kB payload goes in and comes back intact
    const payload = JSON.stringify({
      source: 'coordinator',
      events: Array.from({ length: 100 }, (_, i) => ({ type: 'task.succeeded', i, pad: 'x'.repeat(300) })),
    });
    await ds.query(`INSERT INTO coordinator.outbox (id, subject, payload) VALUES (gen_random_uuid(), 'events', $1)`, [payload]);
    const back = await ds.query<Array<{ payload: string; how: string | null }>>(
      `SELECT payload, pg_column_compression(payload) AS how FROM coordinator.outbox`,
    );
    expect(back).toEqual([{ payload, how: lz4 ? 'lz4' : null }]);
  });
});
