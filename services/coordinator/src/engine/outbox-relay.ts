import { EventMessages } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import type { Logger } from '@swarm-mesh/telemetry';
import type { OutboxRow, TaskStore } from './task-store';

/**
 * How long published rows wait for a tick statement to delete them before they are deleted in a
 * statement of their own (a busy coordinator ticks sooner; an idle one pays one delete).
 */
const DELETE_LINGER_MS = 200;

const DEFS = new Map<string, typeof EventMessages.tasks>(Object.values(EventMessages).map((d) => [d.subject, d]));

/**
 * Publishes committed outbox rows onto the EVENTS stream (msg id = row id, so a republish is
 * stored once) and deletes them once acked — in the next tick's statement (TaskStore), or alone
 * after DELETE_LINGER_MS. A periodic sweep republishes rows a crash left behind between commit
 * and publish.
 */
export class OutboxRelay {
  private deleteTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private inflight = 0;

  constructor(
    private readonly bus: MeshBus,
    private readonly store: TaskStore,
    private readonly logger: Logger,
    private readonly sweepIntervalMs = 2000,
  ) {}

  start(): void {
    this.sweepTimer = setInterval(() => void this.sweep(), this.sweepIntervalMs);
    this.sweepTimer.unref();
    void this.sweep();
  }

  /** Publishes rows just committed (called by the engine after each commit). */
  publish(rows: OutboxRow[]): void {
    for (const row of rows) void this.publishOne(row);
  }

  private async publishOne(row: OutboxRow): Promise<boolean> {
    const def = DEFS.get(row.subject);
    if (!def) {
      this.logger.error('outbox row with unknown subject dropped', { id: row.id, subject: row.subject });
      this.markDone(row.id);
      return true;
    }
    this.inflight++;
    try {
      await this.bus.publishDurableJson(def, row.json, { msgId: `outbox:${row.id}`, retries: 5 });
      this.markDone(row.id);
      return true;
    } catch (err) {
      this.logger.warn('event publish failed; the outbox sweep will retry', { id: row.id, err });
      return false;
    } finally {
      this.inflight--;
    }
  }

  private markDone(id: string): void {
    this.store.outboxPublished(id);
    this.deleteTimer ??= setTimeout(() => void this.flushDeletes(), DELETE_LINGER_MS);
  }

  private async flushDeletes(): Promise<void> {
    this.deleteTimer = null;
    const count = this.store.publishedOutboxCount;
    if (count === 0) return;
    try {
      await this.store.deletePublishedOutbox();
    } catch (err) {
      // rows stay; the sweep republishes them (de-duplicated by msg id) and deletes again
      this.logger.warn('outbox delete failed', { count, err });
    }
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const rows = await this.store.pendingOutbox(this.sweepIntervalMs * 2, 200);
      for (const row of rows) await this.publishOne(row);
    } catch (err) {
      this.logger.warn('outbox sweep failed', { err });
    } finally {
      this.sweeping = false;
    }
  }

  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    const deadline = Date.now() + 5000;
    while (this.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (this.deleteTimer) clearTimeout(this.deleteTimer);
    await this.flushDeletes();
  }
}
