import { TimeoutTableDto, TUNING_KV, validatePlain } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import type { Logger } from '@swarm-mesh/telemetry';
import type { TaskRecord } from '../engine/task-record';
import type { TaskTuning } from './task-tuning';

/**
 * Learned start-to-close timeouts published by the performance optimizer in the NATS KV
 * bucket `swarm_timeouts` (one key per tenant, value `TimeoutTableDto`), watched live. The
 * engine asks synchronously inside its ticks, so lookups are a map read; the values arrive
 * ahead of time through the watch. Only tasks that set no startToCloseMs of their own are
 * affected (the engine asks only for those). An invalid value is ignored (previous kept).
 */
export class KvTaskTuning implements TaskTuning {
  /** `<tenant>\0<capability>` → ms */
  private readonly timeouts = new Map<string, number>();
  /** Capabilities last published per tenant (to drop the ones a new table no longer has). */
  private readonly byTenant = new Map<string, string[]>();
  private stopped = false;
  /** Resolves once the current values were read (or the watch could not start). */
  readonly ready: Promise<void>;

  constructor(
    private readonly bus: MeshBus,
    private readonly logger: Logger,
  ) {
    this.ready = this.watch().catch((err: unknown) => this.logger.warn('learned timeouts unavailable', { error: (err as Error).message }));
  }

  startToCloseMs(task: TaskRecord): number | undefined {
    return this.timeouts.get(`${task.tenantId}\u0000${task.capability}`);
  }

  /** Number of learned timeouts in force (metrics, tests). */
  get size(): number {
    return this.timeouts.size;
  }

  stop(): void {
    this.stopped = true;
  }

  private async watch(): Promise<void> {
    const kv = await this.bus.js().views.kv(this.bus.name(TUNING_KV.timeouts), { history: 10 });
    let initialDone: () => void = () => {};
    const initial = new Promise<void>((r) => (initialDone = r));
    const iter = await kv.watch({ initializedFn: () => initialDone() });
    void (async () => {
      for await (const e of iter) {
        if (this.stopped) break;
        const tenantId = e.key;
        if (e.operation !== 'PUT') {
          this.replace(tenantId, []);
          continue;
        }
        try {
          const table = validatePlain(TimeoutTableDto, JSON.parse(new TextDecoder().decode(e.value)) as unknown, 'learned timeouts');
          if (table.tenantId !== tenantId) throw new Error(`key ${tenantId} holds the table of tenant ${table.tenantId}`);
          this.replace(
            tenantId,
            table.timeouts.map((t) => [t.capability, t.startToCloseMs] as const),
          );
        } catch (err) {
          this.logger.warn('invalid learned timeouts ignored', { tenantId, error: (err as Error).message });
        }
      }
    })().catch((err: unknown) => this.logger.warn('learned timeouts watch ended', { err }));
    await Promise.race([initial, new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  private replace(tenantId: string, entries: ReadonlyArray<readonly [string, number]>): void {
    for (const cap of this.byTenant.get(tenantId) ?? []) this.timeouts.delete(`${tenantId}\u0000${cap}`);
    for (const [cap, ms] of entries) this.timeouts.set(`${tenantId}\u0000${cap}`, ms);
    this.byTenant.set(
      tenantId,
      entries.map(([cap]) => cap),
    );
    this.logger.info('learned timeouts updated', { tenantId, timeouts: Object.fromEntries(entries) });
  }
}
