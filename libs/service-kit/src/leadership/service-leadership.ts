import type { LeaderLease } from '@swarm-mesh/messaging';
import type { Logger } from '@swarm-mesh/telemetry';

/**
 * Whether this replica is the one doing a singleton service's work. A service whose state lives
 * in one process (the coordinator's working set, the allocator's accounting) runs as several
 * replicas of which one is active: it holds a lease in NATS KV; the others stand by (they serve
 * /health and /metrics but no commands) and take over when the lease lapses. Other services are
 * always active.
 */
export interface Leadership {
  /** True for a singleton service (one active replica at a time). */
  readonly singleton: boolean;
  /** Whether this replica is active now. */
  isActive(): boolean;
  /** Fencing token of the current term (the lease's KV revision); 0 for non-singletons. */
  token(): number;
  /** Registers work to start when this replica becomes active, before it serves any command. */
  onActive(start: () => Promise<void>): void;
}

/** The runtime side of Leadership: activation and release are driven by runService. */
export class ServiceLeadership implements Leadership {
  private readonly starters: Array<() => Promise<void>> = [];
  private active = false;

  constructor(
    private readonly lease: LeaderLease | null,
    private readonly logger: Logger,
  ) {}

  get singleton(): boolean {
    return this.lease !== null;
  }

  isActive(): boolean {
    return this.active;
  }

  token(): number {
    return this.lease?.token ?? 0;
  }

  onActive(start: () => Promise<void>): void {
    this.starters.push(start);
  }

  /**
   * Waits for the lease (singletons), then runs every registered start in order. A replica
   * that loses its lease while active exits at once (crash-only): another replica holds it now,
   * and the fencing token refuses any write this one still attempts.
   */
  async activate(): Promise<void> {
    if (this.lease) {
      await this.lease.acquire();
      this.lease.onLost(() => {
        this.logger.error('lost the leadership lease while active; exiting so that a standby replica takes over');
        process.exit(1);
      });
    }
    for (const start of this.starters) await start();
    this.active = true;
  }

  /** Hands the lease to a standby at once (graceful shutdown). */
  async release(): Promise<void> {
    this.active = false;
    await this.lease?.release();
  }
}
