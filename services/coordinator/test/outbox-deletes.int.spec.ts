import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { type OutboxRow, TaskStore, type TickWrite } from '../src/engine/task-store';
import { type CoordinatorDatabase, openCoordinatorDatabase } from './support/coordinator-database';

jest.setTimeout(60_000);

const row = (): OutboxRow => ({ id: randomUUID(), subject: 'swarm.evt.task.batch', json: '{"source":"coordinator","events":[]}' });

/** A tick that writes only outbox rows (what a tick of events alone writes). */
const tick = (outbox: OutboxRow[]): TickWrite => ({
  inserts: [],
  updates: [],
  deadLetters: [],
  deadLetterReplays: [],
  agents: [],
  capabilities: [],
  outbox,
});

describe('published outbox rows are deleted by the next tick statement (TaskStore)', () => {
  let cdb: CoordinatorDatabase;
  let ds: DataSource;
  let token = 0;
  let store: TaskStore;

  const outboxIds = async (): Promise<string[]> =>
    (await ds.query<Array<{ id: string }>>('SELECT id FROM coordinator.outbox ORDER BY seq')).map((r) => r.id);

  beforeAll(async () => {
    cdb = await openCoordinatorDatabase({ prefix: 'swarm_coord_outbox', poolMax: 2 });
    ds = cdb.ds;
    store = new TaskStore(ds, () => token);
  });

  afterAll(async () => {
    await cdb?.close();
  });

  beforeEach(async () => {
    token = 0;
    await ds.query('DELETE FROM coordinator.outbox');
    await store.deletePublishedOutbox();
  });

  it('a tick deletes the rows published before it, in its own statement, and writes its new rows', async () => {
    const first = [row(), row()];
    await store.commit(tick(first));
    expect(await outboxIds()).toEqual(first.map((r) => r.id));

    for (const r of first) store.outboxPublished(r.id);
    expect(store.publishedOutboxCount).toBe(2);
    const second = [row()];
    await store.commit(tick(second));

    expect(store.publishedOutboxCount).toBe(0);
    expect(await outboxIds()).toEqual(second.map((r) => r.id));
  });

  it('a tick that fails keeps its deletes for the next statement, and the fallback deletes them alone', async () => {
    const rows = [row(), row(), row()];
    await store.commit(tick(rows));
    for (const r of rows) store.outboxPublished(r.id);

    // a deposed leader's tick fails whole (the fence matches no row): nothing of it lands
    await ds.query(`INSERT INTO coordinator.meta (key, value) VALUES ('leader_token', 10)
                    ON CONFLICT (key) DO UPDATE SET value = 10`);
    token = 5;
    const refused = row();
    await expect(store.commit(tick([refused]))).rejects.toThrow(/division by zero/);
    expect(store.publishedOutboxCount).toBe(3);
    expect(await outboxIds()).toEqual(rows.map((r) => r.id));

    await store.deletePublishedOutbox();
    expect(store.publishedOutboxCount).toBe(0);
    expect(await outboxIds()).toEqual([]);
    await ds.query(`DELETE FROM coordinator.meta WHERE key = 'leader_token'`);
  });

  it('a tick with nothing to write leaves the published rows waiting (no statement of its own)', async () => {
    const rows = [row()];
    await store.commit(tick(rows));
    store.outboxPublished(rows[0]!.id);
    await store.commit(tick([]));
    expect(store.publishedOutboxCount).toBe(1);
    expect(await outboxIds()).toEqual([rows[0]!.id]);
  });
});
