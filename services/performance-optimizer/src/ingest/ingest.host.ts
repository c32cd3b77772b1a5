import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { EVENTS_WILDCARD, EventMessages, type MeshEventBatch, STREAMS } from '@swarm-mesh/contracts';
import { type BatchConsumerHandle, type BatchItem, ensureConsumer, type MeshBus, startBatchConsumer } from '@swarm-mesh/messaging';
import { isTransientDbError } from '@swarm-mesh/persistence';
import { HEALTH, type HealthService, LOGGER, MESH_BUS, METRICS, type MetricsRegistry } from '@swarm-mesh/service-kit';
import { fromTraceparent, type Logger, meshTracer, SpanKind } from '@swarm-mesh/telemetry';
import { DiscardPolicy, nanos, RetentionPolicy, StorageType } from 'nats';
import { Counter, Histogram } from 'prom-client';
import type { OptimizerOptions } from '../config/optimizer-options';
import { OptimizerRuntime } from '../optimizer.runtime';
import { EventMapper, type SampleRow } from './event-mapper';
import { LiveStats } from './live-stats';
import { SampleWriter } from './sample-writer';

/** Durable name of the optimizer's consumer of task events (shared by its replicas). */
export const TASK_EVENTS_CONSUMER = 'performance_task_events';

/** `00-<trace>-<span>-01`: only sampled parents get a child span (the rest would never be exported). */
const SAMPLED_TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{1}[13579bdf]$/;

/**
 * Ingestion: a durable JetStream consumer on the task events of the EVENTS stream, in
 * batches; every event that ends an attempt becomes one sample, written with its rollup
 * increments in one transaction per batch. Acks follow the commit (at-least-once, idempotent
 * per task and attempt).
 */
@Injectable()
export class IngestHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly options: OptimizerOptions;
  readonly live: LiveStats;
  private readonly mapper = new EventMapper();
  private readonly writer: SampleWriter;
  private consumer: BatchConsumerHandle | null = null;
  private stopped = false;
  private starting: Promise<void> | null = null;
  private readonly samples: Counter<'effect'>;
  private readonly events: Counter;
  private readonly batchSeconds: Histogram;

  constructor(
    runtime: OptimizerRuntime,
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: MetricsRegistry,
    @Inject(HEALTH) health: HealthService,
  ) {
    this.options = runtime.options;
    this.live = new LiveStats(this.options.overviewWindowMs);
    this.writer = new SampleWriter(runtime.ds, this.options.rollupBucketMs);
    const r = [metrics.registry];
    this.samples = new Counter({
      name: 'swarm_optimizer_samples_total',
      help: 'Samples written, by effect (inserted, ended = a stored attempt learned its task ended, duplicate)',
      labelNames: ['effect'],
      registers: r,
    });
    this.events = new Counter({ name: 'swarm_optimizer_events_total', help: 'Task events received', registers: r });
    this.batchSeconds = new Histogram({
      name: 'swarm_optimizer_ingest_batch_seconds',
      help: 'Time to write one ingested batch (samples + rollups, one transaction)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    });
    health.addCheck(() =>
      this.consumer ? { status: 'ok' } : { status: 'degraded', error: 'task event consumer not running (EVENTS stream missing?)' },
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    // normally ready before the service answers (health ok); if NATS misbehaves, keep trying in the background
    this.starting = this.startConsumer().catch((err: unknown) => this.logger.error('task event ingestion did not start', { err }));
    await Promise.race([this.starting, new Promise((r) => setTimeout(r, 5000).unref())]);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.starting;
    await this.consumer?.stop();
    this.consumer = null;
  }

  get running(): boolean {
    return this.consumer !== null;
  }

  private async startConsumer(): Promise<void> {
    let delay = 100;
    for (;;) {
      if (this.stopped) return;
      try {
        await this.createEventsStreamIfMissing();
        await ensureConsumer(this.bus, {
          stream: STREAMS.EVENTS,
          durable: TASK_EVENTS_CONSUMER,
          filterSubject: EventMessages.tasks.subject,
          ackWaitMs: this.options.ingestAckWaitMs,
          maxAckPending: 1000,
        });
        break;
      } catch (err) {
        if (delay >= 1600) this.logger.warn('waiting for the EVENTS stream', { error: (err as Error).message, retryInMs: delay });
        await new Promise((r) => setTimeout(r, delay).unref());
        delay = Math.min(delay * 2, 5000);
      }
    }
    if (this.stopped) return;
    this.consumer = await startBatchConsumer({
      bus: this.bus,
      stream: STREAMS.EVENTS,
      durable: TASK_EVENTS_CONSUMER,
      def: EventMessages.tasks,
      maxBatch: this.options.ingestMaxBatch,
      prefetch: this.options.ingestMaxBatch * 4,
      gatherMs: this.options.ingestGatherMs,
      retryDelayMs: 1000,
      handler: (items) => this.ingest(items),
    });
    this.logger.info('ingesting task events', { consumer: TASK_EVENTS_CONSUMER });
  }

  /**
   * The coordinator owns the EVENTS stream (and sets its retention); when the optimizer starts
   * first it creates the stream with the coordinator's defaults, and never changes an existing
   * one — the coordinator's own settings win when it starts.
   */
  private async createEventsStreamIfMissing(): Promise<void> {
    const jsm = await this.bus.jsm();
    const name = this.bus.name(STREAMS.EVENTS);
    try {
      await jsm.streams.info(name);
      return;
    } catch (err) {
      if (!/not found/i.test((err as Error).message)) throw err;
    }
    try {
      await jsm.streams.add({
        name,
        subjects: [this.bus.subject(EVENTS_WILDCARD)],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        max_age: nanos(24 * 3600 * 1000),
        duplicate_window: nanos(120_000),
        num_replicas: 1,
        discard: DiscardPolicy.Old,
      });
    } catch (err) {
      if (!/already in use|already exists/i.test((err as Error).message)) throw err;
    }
  }

  /** One batch: map, write (one transaction), then feed the live view and the task traces. */
  async ingest(items: BatchItem<MeshEventBatch>[]): Promise<void> {
    const rows: SampleRow[] = [];
    const parents: Array<string | undefined> = [];
    let events = 0;
    for (const it of items) {
      for (const e of it.body.events) {
        events++;
        const row = this.mapper.map(e);
        if (!row) continue;
        rows.push(row);
        const tp = e.data.traceparent;
        parents.push(typeof tp === 'string' ? tp : undefined);
      }
    }
    this.events.inc(events);
    if (rows.length === 0) return;
    const started = performance.now();
    let effects;
    try {
      effects = await this.writer.write(rows);
    } catch (err) {
      // only a batch Postgres refuses for its content (data exception, constraint) would be
      // redelivered forever: log it and move on; anything else is naked and redelivered
      const code = (err as { code?: unknown }).code;
      if (isTransientDbError(err) || typeof code !== 'string' || !/^2[23]/.test(code)) throw err;
      this.logger.error('ingest batch rejected by Postgres; skipped', { rows: rows.length, err });
      this.samples.inc({ effect: 'rejected' }, rows.length);
      return;
    }
    this.batchSeconds.observe((performance.now() - started) / 1000);
    let inserted = 0;
    let ended = 0;
    const tracer = this.options.traceSamples ? meshTracer() : undefined;
    for (let i = 0; i < rows.length; i++) {
      const effect = effects[i];
      if (effect === 'duplicate') continue;
      const row = rows[i]!;
      this.live.record(row);
      if (effect === 'inserted') inserted++;
      else ended++;
      const tp = parents[i];
      if (tracer && effect === 'inserted' && tp !== undefined && SAMPLED_TRACEPARENT.test(tp)) {
        tracer
          .startSpan(
            'performance.sample',
            {
              kind: SpanKind.CONSUMER,
              attributes: {
                'swarm.task.id': row.task_id,
                'swarm.task.attempt': row.attempt,
                'swarm.task.capability': row.capability,
                'swarm.sample.outcome': row.outcome,
                ...(row.run_ms !== null ? { 'swarm.sample.run_ms': row.run_ms } : {}),
                ...(row.pool !== null ? { 'swarm.sample.pool': row.pool } : {}),
              },
            },
            fromTraceparent(tp),
          )
          .end();
      }
    }
    if (inserted > 0) this.samples.inc({ effect: 'inserted' }, inserted);
    if (ended > 0) this.samples.inc({ effect: 'ended' }, ended);
    if (rows.length > inserted + ended) this.samples.inc({ effect: 'duplicate' }, rows.length - inserted - ended);
  }
}
