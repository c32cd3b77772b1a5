import { FLAGS, type FlagName, FlagValue, isFlagName, KV_BUCKETS, validatePlain } from '@swarm-mesh/contracts';
import type { KV } from 'nats';
import type { MeshBus } from './mesh-bus';

/** A flag as seen by a service. */
export interface FlagState {
  name: FlagName;
  enabled: boolean;
  /** True when the value comes from the bucket, false when it is the default. */
  set: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
  description: string;
}

/**
 * Runtime feature flags from the namespaced NATS KV bucket, watched live. Reads are local
 * (no round trip); `set` writes the bucket and every watcher sees it.
 */
export class FlagStore {
  private readonly values = new Map<FlagName, FlagValue>();
  private readonly listeners = new Set<(name: FlagName, enabled: boolean) => void>();
  private stopped = false;

  private constructor(
    private readonly kv: KV,
    private readonly bus: MeshBus,
  ) {}

  /** Opens (creating if needed) the bucket and starts watching it. */
  static async open(bus: MeshBus): Promise<FlagStore> {
    const kv = await bus.js().views.kv(bus.name(KV_BUCKETS.FLAGS), { history: 5 });
    const store = new FlagStore(kv, bus);
    await store.watch();
    return store;
  }

  private async watch(): Promise<void> {
    let initialDone: () => void = () => {};
    const initial = new Promise<void>((r) => (initialDone = r));
    // the watcher delivers the current values first, then calls initializedFn, then live changes
    const iter = await this.kv.watch({ initializedFn: () => initialDone() });
    void (async () => {
      for await (const e of iter) {
        if (this.stopped) break;
        if (!isFlagName(e.key)) continue;
        if (e.operation === 'PUT') {
          try {
            const v = validatePlain(FlagValue, JSON.parse(new TextDecoder().decode(e.value)) as unknown, 'flag value');
            this.values.set(e.key, v);
            for (const l of this.listeners) l(e.key, v.enabled);
          } catch (err) {
            this.bus.logger.warn('invalid flag value ignored', { flag: e.key, error: (err as Error).message });
          }
        } else {
          this.values.delete(e.key);
          for (const l of this.listeners) l(e.key, FLAGS[e.key].default);
        }
      }
    })().catch((err: unknown) => this.bus.logger.warn('flag watch ended', { err }));
    await Promise.race([initial, new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  isEnabled(name: FlagName): boolean {
    return this.values.get(name)?.enabled ?? FLAGS[name].default;
  }

  list(): FlagState[] {
    return (Object.keys(FLAGS) as FlagName[]).map((name) => {
      const v = this.values.get(name);
      return {
        name,
        enabled: v?.enabled ?? FLAGS[name].default,
        set: v !== undefined,
        updatedAt: v?.updatedAt ?? null,
        updatedBy: v?.updatedBy ?? null,
        description: FLAGS[name].description,
      };
    });
  }

  /** Writes a flag; resolves once the bucket stored it. */
  async set(name: FlagName, enabled: boolean, updatedBy: string): Promise<FlagState> {
    const v: FlagValue = { enabled, updatedAt: new Date().toISOString(), updatedBy };
    await this.kv.put(name, JSON.stringify(v));
    this.values.set(name, v);
    return this.list().find((f) => f.name === name)!;
  }

  /** Called on every change (from any service). Returns an unsubscribe function. */
  onChange(listener: (name: FlagName, enabled: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
  }
}
