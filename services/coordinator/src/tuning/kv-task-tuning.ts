import { RoutingWeightsDto, TimeoutTableDto, TUNING_KV, validatePlain } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import type { Logger } from '@swarm-mesh/telemetry';
import type { PoolWeight } from '../engine/routing';
import type { TaskRecord } from '../engine/task-record';
import type { TaskTuning } from './task-tuning';

/** `<tenant>\0<capability>` → value, replaced per tenant as a whole. */
class TenantTable<V> {
  private readonly values = new Map<string, V>();
  private readonly byTenant = new Map<string, string[]>();

  get(tenantId: string, capability: string): V | undefined {
    return this.values.get(`${tenantId}\u0000${capability}`);
  }

  get size(): number {
    return this.values.size;
  }

  replace(tenantId: string, entries: ReadonlyArray<readonly [string, V]>): void {
    for (const cap of this.byTenant.get(tenantId) ?? []) this.values.delete(`${tenantId}\u0000${cap}`);
    for (const [cap, v] of entries) this.values.set(`${tenantId}\u0000${cap}`, v);
    this.byTenant.set(
      tenantId,
      entries.map(([cap]) => cap),
    );
  }
}

/**
 * What the performance optimizer publishes for the coordinator, watched live in NATS KV (one
 * key per tenant): learned start-to-close timeouts (`swarm_timeouts`, `TimeoutTableDto`) and
 * pool routing weights (`swarm_routing_weights`, `RoutingWeightsDto`, docs/ROUTING-WEIGHTS.md).
 * The engine asks synchronously inside its ticks, so lookups are map reads; the values arrive
 * ahead of time through the watches. Learned timeouts apply only to tasks that set none of
 * their own. An invalid value is ignored (the previous one is kept); a deleted key clears the
 * tenant.
 */
export class KvTaskTuning implements TaskTuning {
  private readonly timeouts = new TenantTable<number>();
  private readonly weights = new TenantTable<readonly PoolWeight[]>();
  private stopped = false;
  /** Resolves once the current values were read (or the watches could not start). */
  readonly ready: Promise<void>;

  constructor(
    private readonly bus: MeshBus,
    private readonly logger: Logger,
  ) {
    this.ready = Promise.all([
      this.watch('learned timeouts', TUNING_KV.timeouts, this.timeouts, (tenantId, raw) => {
        const table = validatePlain(TimeoutTableDto, raw, 'learned timeouts');
        if (table.tenantId !== tenantId) throw new Error(`key ${tenantId} holds the table of tenant ${table.tenantId}`);
        return table.timeouts.map((t) => [t.capability, t.startToCloseMs] as const);
      }),
      this.watch('routing weights', TUNING_KV.routingWeights, this.weights, (tenantId, raw) => {
        const table = validatePlain(RoutingWeightsDto, raw, 'routing weights');
        if (table.tenantId !== tenantId) throw new Error(`key ${tenantId} holds the weights of tenant ${table.tenantId}`);
        return table.capabilities.map((c) => [c.capability, c.pools.map((p) => ({ pool: p.pool, weight: p.weight }))] as const);
      }),
    ]).then(() => undefined);
  }

  startToCloseMs(task: TaskRecord): number | undefined {
    return this.timeouts.get(task.tenantId, task.capability);
  }

  poolWeights(tenantId: string, capability: string): readonly PoolWeight[] | undefined {
    return this.weights.get(tenantId, capability);
  }

  /** Number of learned timeouts in force (metrics, tests). */
  get size(): number {
    return this.timeouts.size;
  }

  stop(): void {
    this.stopped = true;
  }

  /** Follows one bucket into `table`: `parse` turns a tenant's value into its entries (throws when invalid). */
  private async watch<V>(
    what: string,
    bucket: string,
    table: TenantTable<V>,
    parse: (tenantId: string, value: unknown) => ReadonlyArray<readonly [string, V]>,
  ): Promise<void> {
    try {
      const kv = await this.bus.js().views.kv(this.bus.name(bucket), { history: 10 });
      let initialDone: () => void = () => {};
      const initial = new Promise<void>((r) => (initialDone = r));
      const iter = await kv.watch({ initializedFn: () => initialDone() });
      void (async () => {
        for await (const e of iter) {
          if (this.stopped) break;
          const tenantId = e.key;
          if (e.operation !== 'PUT') {
            table.replace(tenantId, []);
            this.logger.info(`${what} cleared`, { tenantId });
            continue;
          }
          try {
            const entries = parse(tenantId, JSON.parse(new TextDecoder().decode(e.value)) as unknown);
            table.replace(tenantId, entries);
            this.logger.info(`${what} updated`, { tenantId, values: Object.fromEntries(entries) });
          } catch (err) {
            this.logger.warn(`invalid ${what} ignored`, { tenantId, error: (err as Error).message });
          }
        }
      })().catch((err: unknown) => this.logger.warn(`${what} watch ended`, { err }));
      await Promise.race([initial, new Promise((r) => setTimeout(r, 2000).unref())]);
    } catch (err) {
      this.logger.warn(`${what} unavailable`, { error: (err as Error).message });
    }
  }
}
