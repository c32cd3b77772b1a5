import { KV_BUCKETS } from '@swarm-mesh/contracts';
import type { MeshBus } from './mesh-bus';
import type { Logger } from '@swarm-mesh/telemetry';
import type { KV } from 'nats';

/** Options of LeaderLease. */
export interface LeaderLeaseOptions {
  /** Key naming what is led, e.g. `coordinator`. */
  key: string;
  /** This process. */
  instanceId: string;
  /** A lease not renewed for this long expires and another replica may take over. Default 3000 ms. */
  ttlMs?: number;
  /** How often the holder renews. Default ttl / 3. */
  renewEveryMs?: number;
}

/**
 * Leadership held as a lease in NATS KV (compare-and-set on the entry's revision; the bucket's
 * TTL expires a lease its holder stopped renewing). The revision the holder won is its fencing
 * token: every write of the leader carries it, so a deposed leader's late writes are refused
 * (ARCHITECTURE.md: "ownership held as a lease in NATS KV … the revision is the fencing token").
 * No home-made consensus: NATS (JetStream, clustered with R3) decides who wins.
 */
export class LeaderLease {
  private kv: KV | null = null;
  private revision = 0;
  private renewTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lostListeners: Array<() => void> = [];
  readonly ttlMs: number;
  private readonly renewEveryMs: number;

  constructor(
    private readonly bus: MeshBus,
    private readonly logger: Logger,
    private readonly options: LeaderLeaseOptions,
  ) {
    this.ttlMs = options.ttlMs ?? 3000;
    this.renewEveryMs = options.renewEveryMs ?? Math.max(50, Math.floor(this.ttlMs / 3));
  }

  /** The fencing token of the current term (0 when not leader). */
  get token(): number {
    return this.revision;
  }

  get isLeader(): boolean {
    return this.revision > 0 && !this.stopped;
  }

  private async bucket(): Promise<KV> {
    this.kv ??= await this.bus.js().views.kv(this.bus.name(KV_BUCKETS.LEASES), { history: 1, ttl: this.ttlMs });
    return this.kv;
  }

  /** Waits until this process holds the lease (polling at a fraction of the TTL). */
  async acquire(): Promise<number> {
    const kv = await this.bucket();
    const value = JSON.stringify({ instanceId: this.options.instanceId, since: new Date().toISOString() });
    let announced = false;
    while (!this.stopped) {
      try {
        this.revision = await kv.create(this.options.key, value);
        this.logger.info('leadership acquired', { key: this.options.key, token: this.revision });
        this.startRenewing(value);
        return this.revision;
      } catch (err) {
        if (!announced) {
          const holder = await kv.get(this.options.key).catch(() => null);
          this.logger.info('standing by: another replica leads', {
            key: this.options.key,
            holder: holder ? (JSON.parse(holder.string()) as { instanceId?: string }).instanceId : undefined,
            error: (err as Error).message,
          });
          announced = true;
        }
        await new Promise((r) => setTimeout(r, this.renewEveryMs));
      }
    }
    throw new Error('lease acquisition stopped');
  }

  private startRenewing(value: string): void {
    const renew = async (): Promise<void> => {
      if (this.stopped) return;
      try {
        this.revision = await (await this.bucket()).update(this.options.key, value, this.revision);
      } catch (err) {
        const verdict = await this.afterFailedRenewal(value);
        if (verdict === 'lost') {
          this.logger.error('leadership lost: another replica holds the lease', { key: this.options.key, error: (err as Error).message });
          this.revision = 0;
          this.stopRenewing();
          for (const l of this.lostListeners) l();
          return;
        }
      }
      this.renewTimer = setTimeout(() => void renew(), this.renewEveryMs);
    };
    this.renewTimer = setTimeout(() => void renew(), this.renewEveryMs);
  }

  /**
   * A renewal failed. Only another replica's entry means the lease is lost. NATS unreachable
   * (restarting) or slow to answer: keep trying — nobody else can take the lease while nobody
   * reaches NATS. The entry expired meanwhile (an outage, or a process starved of CPU for longer
   * than the TTL): take it again (a new, higher fencing token). Our own entry under another
   * revision (a write whose answer was lost or came too late): adopt it. A re-creation that fails
   * is judged by reading the entry again, as its reply may be what got lost; when that read says
   * nothing either, the next renewal decides. Meanwhile the fencing token keeps a deposed
   * holder's writes out of Postgres.
   */
  private async afterFailedRenewal(value: string): Promise<'kept' | 'lost'> {
    const holder = await this.readHolder();
    if (holder !== 'absent') return holder;
    try {
      this.revision = await (await this.bucket()).create(this.options.key, value);
      this.logger.warn('leadership lease had expired (NATS outage or a stalled process); taken again', {
        key: this.options.key,
        token: this.revision,
      });
      return 'kept';
    } catch {
      const after = await this.readHolder();
      return after === 'absent' ? 'kept' : after;
    }
  }

  /** Who holds the lease now: us (our revision adopted), another replica, nobody, or unknown (kept). */
  private async readHolder(): Promise<'kept' | 'lost' | 'absent'> {
    let entry;
    try {
      entry = await (await this.bucket()).get(this.options.key);
    } catch {
      return 'kept';
    }
    if (!entry || entry.operation !== 'PUT') return 'absent';
    try {
      if ((JSON.parse(entry.string()) as { instanceId?: string }).instanceId === this.options.instanceId) {
        this.revision = entry.revision;
        return 'kept';
      }
    } catch {
      // not ours
    }
    return 'lost';
  }

  private stopRenewing(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
  }

  /** Called once if the lease is lost while held (renewal failed: another replica may lead now). */
  onLost(listener: () => void): void {
    this.lostListeners.push(listener);
  }

  /** Gives the lease up (graceful shutdown) so a standby takes over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    this.stopRenewing();
    if (this.revision > 0) {
      try {
        await (await this.bucket()).delete(this.options.key, { previousSeq: this.revision });
      } catch {
        // someone else holds it already, or NATS is gone: the TTL frees it anyway
      }
      this.revision = 0;
    }
  }
}
