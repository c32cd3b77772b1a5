import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { GATEWAY_KV_BUCKETS } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { LOGGER, MESH_BUS, SERVICE_CONFIG, type ServiceConfig } from '@swarm-mesh/service-kit';
import type { Logger } from '@swarm-mesh/telemetry';
import type { KV } from 'nats';
import type { GatewayEnv } from '../gateway.env';

/** The verdict on one request. */
export type RateVerdict = { allowed: true; remaining: number; limit: number } | { allowed: false; retryAfterMs: number; limit: number };

interface WindowState {
  /** Window index: floor(now / windowMs). */
  window: number;
  /** The shared count (every replica) as of this replica's last merge, including what it merged. */
  shared: number;
  /** Requests this replica admitted since its last merge. */
  local: number;
  /** Requests seen since the last merge (0 = idle: no need to read the shared count). */
  touched: number;
  syncing: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Per-key fixed-window rate limits shared by every gateway replica through NATS KV.
 *
 * The hot path is local and synchronous: each replica keeps, per key and window, the shared
 * count it last read plus the requests it admitted since (`local`), and admits a request while
 * `shared + local < limit`. Every GATEWAY_RATE_SYNC_MS (and at once when a key has used a tenth of
 * what is left; the first request of a key in a window waits for a read), it merges `local` into the KV entry
 * `<keyId>.<window>` with compare-and-set on the entry's revision (retried on a conflict) and
 * learns the other replicas' counts from the same read. So the shared limit is honoured to
 * within what the other replicas admit during one sync interval (≈ replicas × rate × sync
 * interval); one replica alone is exact. Entries expire with the bucket's TTL. When KV is
 * unreachable each replica falls back to its local counts (the limit then holds per replica).
 */
@Injectable()
export class RateLimiter implements OnModuleInit, OnModuleDestroy {
  private kv: KV | undefined;
  private readonly states = new Map<string, WindowState>();
  private timer: NodeJS.Timeout | undefined;
  private opening: Promise<void> | undefined;
  private readonly defaultLimit: number;
  private readonly windowMs: number;
  private readonly syncMs: number;
  private warned = false;

  constructor(
    @Inject(SERVICE_CONFIG) config: ServiceConfig<GatewayEnv>,
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.defaultLimit = config.extra.GATEWAY_RATE_LIMIT;
    this.windowMs = config.extra.GATEWAY_RATE_WINDOW_MS;
    this.syncMs = config.extra.GATEWAY_RATE_SYNC_MS;
  }

  async onModuleInit(): Promise<void> {
    await this.open();
    this.timer = setInterval(() => this.syncAll(), this.syncMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private open(): Promise<void> {
    this.opening ??= (async () => {
      try {
        this.kv = await this.bus.js().views.kv(this.bus.name(GATEWAY_KV_BUCKETS.RATE_LIMITS), {
          history: 1,
          ttl: Math.max(this.windowMs * 3, 10_000),
        });
      } catch (err) {
        this.logger.warn('rate-limit bucket unavailable: limits are per replica until it is', { err });
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  /**
   * Counts a request of `keyId` and says whether it may proceed. The first request of a key in a
   * window on this replica waits for one KV read (what the other replicas admitted so far);
   * every later one is decided from memory.
   */
  async check(keyId: string, keyLimit?: number | null): Promise<RateVerdict> {
    const limit = keyLimit ?? this.defaultLimit;
    if (limit <= 0) return { allowed: true, remaining: Number.POSITIVE_INFINITY, limit };
    let now = Date.now();
    const window = Math.floor(now / this.windowMs);
    let s = this.states.get(keyId);
    if (!s || s.window !== window) {
      s = { window, shared: 0, local: 0, touched: 0, syncing: false };
      this.states.set(keyId, s);
      // bounded: a slow or absent KV must not stall requests (the limit is then per replica)
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.sync(keyId, s), new Promise<void>((r) => (timer = setTimeout(r, 250)))]);
      clearTimeout(timer);
      now = Date.now();
    }
    s.touched++;
    const used = s.shared + s.local;
    if (used >= limit) {
      return { allowed: false, retryAfterMs: Math.max(1, (window + 1) * this.windowMs - now), limit };
    }
    s.local++;
    if (s.local * 10 >= limit - s.shared) void this.sync(keyId, s);
    return { allowed: true, remaining: limit - used - 1, limit };
  }

  /** The window length (for Retry-After and documentation). */
  get window(): number {
    return this.windowMs;
  }

  private syncAll(): void {
    const current = Math.floor(Date.now() / this.windowMs);
    for (const [keyId, s] of this.states) {
      if (s.window < current) {
        if (s.local > 0) void this.sync(keyId, s);
        else if (!s.syncing) this.states.delete(keyId);
        continue;
      }
      if (s.touched > 0 || s.local > 0) void this.sync(keyId, s);
    }
  }

  /** Merges `local` into the shared counter and refreshes `shared` (compare-and-set, retried). */
  private async sync(keyId: string, s: WindowState): Promise<void> {
    if (s.syncing) return;
    if (!this.kv) {
      void this.open();
      return;
    }
    s.syncing = true;
    const kv = this.kv;
    const key = `${keyId}.${s.window}`;
    const n = s.local;
    s.touched = 0;
    try {
      for (let attempt = 0; attempt < 8; attempt++) {
        const entry = await kv.get(key);
        try {
          if (!entry || entry.operation !== 'PUT') {
            if (n === 0) {
              s.shared = 0;
              return;
            }
            await kv.create(key, enc.encode(String(n)));
            s.local -= n;
            s.shared = n;
            return;
          }
          const current = Number(dec.decode(entry.value)) || 0;
          if (n === 0) {
            s.shared = current;
            return;
          }
          await kv.update(key, enc.encode(String(current + n)), entry.revision);
          s.local -= n;
          s.shared = current + n;
          return;
        } catch (err) {
          if (!/wrong last sequence|exists/i.test((err as Error).message)) throw err;
          // another replica merged in between: read again
        }
      }
    } catch (err) {
      if (!this.warned) {
        this.warned = true;
        this.logger.warn('rate-limit sync failed; counting locally meanwhile', { err });
      }
    } finally {
      s.syncing = false;
    }
  }
}
