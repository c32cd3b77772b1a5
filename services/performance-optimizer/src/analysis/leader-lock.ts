import type { Logger } from '@swarm-mesh/telemetry';
import { Client } from 'pg';

/**
 * Leadership of the periodic analysis among optimizer replicas: a Postgres session advisory
 * lock held on a connection of its own. The replica holding it analyses; when it dies (or its
 * connection does), Postgres releases the lock and another replica takes it at its next try.
 */
export class LeaderLock {
  private client: Client | null = null;
  private held = false;

  constructor(
    private readonly url: string,
    private readonly key: number,
    private readonly logger: Logger,
  ) {}

  /** True when this process holds (or just took) the lock. */
  async tryAcquire(): Promise<boolean> {
    if (this.held && this.client) return true;
    try {
      if (!this.client) {
        const c = new Client({ connectionString: this.url, application_name: 'performance-optimizer:leader' });
        c.on('error', (err) => {
          this.logger.warn('leader connection lost', { error: err.message });
          this.held = false;
          this.client = null;
          void c.end().catch(() => {});
        });
        await c.connect();
        this.client = c;
      }
      const rows = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [this.key]);
      this.held = rows.rows[0]?.ok === true;
      if (this.held) this.logger.info('analysis leadership taken');
      return this.held;
    } catch (err) {
      this.logger.warn('leader lock unavailable', { error: (err as Error).message });
      const c = this.client;
      this.client = null;
      this.held = false;
      await c?.end().catch(() => {});
      return false;
    }
  }

  async release(): Promise<void> {
    const c = this.client;
    this.client = null;
    this.held = false;
    await c?.end().catch(() => {});
  }
}
