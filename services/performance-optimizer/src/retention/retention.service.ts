import { type BeforeApplicationShutdown, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { OptimizerRuntime } from '../optimizer.runtime';

/** Rows deleted per statement: short transactions, no long lock on a busy table. */
const CHUNK = 20_000;

/**
 * Keeps the schema bounded: raw samples older than OPTIMIZER_SAMPLE_RETENTION_MS and rollups
 * older than OPTIMIZER_ROLLUP_RETENTION_MS are deleted in chunks (baselines older than the raw
 * retention live on in the rollups); resolved regressions and closed recommendations follow
 * the rollups. Idempotent, so every replica may run it.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(private readonly rt: OptimizerRuntime) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.sweep().finally(() => (this.running = null));
    }, this.rt.options.retentionIntervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One sweep; returns what it deleted. */
  async sweep(now = Date.now()): Promise<{ samples: number; rollups: number; regressions: number; recommendations: number }> {
    const o = this.rt.options;
    const out = { samples: 0, rollups: 0, regressions: 0, recommendations: 0 };
    try {
      const samplesBefore = new Date(now - o.sampleRetentionMs).toISOString();
      const rollupsBefore = new Date(now - o.rollupRetentionMs).toISOString();
      out.samples = await this.chunked(
        `DELETE FROM performance.execution_samples WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM performance.execution_samples WHERE finished_at < $1 LIMIT ${CHUNK}))`,
        samplesBefore,
      );
      out.rollups = await this.chunked(
        `DELETE FROM performance.sample_rollups WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM performance.sample_rollups WHERE bucket_start < $1 LIMIT ${CHUNK}))`,
        rollupsBefore,
      );
      out.regressions = await this.chunked(
        `DELETE FROM performance.regressions WHERE status = 'resolved' AND resolved_at < $1`,
        rollupsBefore,
      );
      out.recommendations = await this.chunked(
        `DELETE FROM performance.recommendations WHERE status IN ('expired', 'superseded', 'reverted') AND updated_at < $1`,
        rollupsBefore,
      );
      if (out.samples + out.rollups > 0) this.rt.logger.info('retention sweep', out);
    } catch (err) {
      this.rt.logger.warn('retention sweep failed', { err });
    }
    return out;
  }

  private async chunked(sql: string, before: string): Promise<number> {
    let total = 0;
    for (;;) {
      const res = await this.rt.ds.query<[unknown[], number]>(sql, [before]);
      const n = res[1] ?? 0;
      total += n;
      if (n < CHUNK) return total;
    }
  }
}
