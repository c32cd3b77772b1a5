import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  type CreateTaskItem,
  type CreateTaskOutcome,
  InternalError,
  type SubmitTaskDto,
  SwarmError,
  TaskCommands,
  type TaskDto,
} from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { Batcher } from '@swarm-mesh/persistence';
import { LOGGER, MESH_BUS, SERVICE_CONFIG, type ServiceConfig } from '@swarm-mesh/service-kit';
import { context, fromTraceparent, type Logger, meshTracer, recordError, SpanKind, toTraceparent, trace } from '@swarm-mesh/telemetry';
import type { GatewayEnv } from '../gateway.env';

/** A single submit waiting to leave, with its approximate JSON size. */
interface PendingCreate {
  item: CreateTaskItem;
  sizeBytes: number;
}

/** Most single submits gathered into one message. */
const MAX_GATHERED = 500;
/** A gathered message stays well under NATS's default max_payload (1 MiB). */
const MAX_GATHERED_BYTES = 512 * 1024;
/** After the coordinator turned out not to know `tasks.create_many` (an older release), how long to send alone before asking again. */
const LEGACY_RECHECK_MS = 30_000;

/**
 * Sends single submits (`POST /tasks`) to the coordinator. Requests that arrive while earlier
 * ones are still on their way leave together as one `tasks.create_many` message (natural
 * batching: an idle gateway sends each at once, a busy one sends a few large messages instead of
 * one per request). Every task keeps its own outcome — a refused task fails alone — and its own
 * trace: each gets the `request coordinator.tasks.create` span a lone request would have, and the
 * coordinator answers it under a `handle` span of its own.
 *
 * `GATEWAY_SUBMIT_INFLIGHT=0` sends every single submit alone with `tasks.create`, as does a
 * coordinator that does not answer `tasks.create_many` (rolling upgrade from an older release).
 */
@Injectable()
export class TaskSubmitter implements OnModuleDestroy {
  private readonly batcher: Batcher<PendingCreate, CreateTaskOutcome> | undefined;
  /** Until when the coordinator is treated as not knowing `tasks.create_many`. */
  private legacyUntil = 0;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<GatewayEnv>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const inflight = config.extra.GATEWAY_SUBMIT_INFLIGHT;
    if (inflight > 0) {
      this.batcher = new Batcher<PendingCreate, CreateTaskOutcome>({
        maxBatch: MAX_GATHERED,
        maxDelayMs: 0,
        concurrency: inflight,
        weigh: (p) => p.sizeBytes,
        maxWeight: MAX_GATHERED_BYTES,
        flush: (batch) => this.send(batch),
      });
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.batcher?.close();
  }

  /**
   * Creates one task; resolves with it once it is durable, rejects with the coordinator's coded
   * error. `inputBytes` is the JSON size of its input (for the gathered message's size limit).
   */
  async create(tenantId: string, task: SubmitTaskDto, inputBytes: number): Promise<TaskDto> {
    if (!this.batcher || Date.now() < this.legacyUntil) return this.bus.request(TaskCommands.create, { tenantId, task });
    const span = meshTracer().startSpan(`request ${TaskCommands.create.name}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'messaging.system': 'nats',
        'messaging.destination.name': TaskCommands.createMany.subject,
        'swarm.message.type': TaskCommands.create.name,
      },
    });
    const traceparent = toTraceparent(trace.setSpan(context.active(), span));
    try {
      const item: CreateTaskItem = { tenantId, task, ...(traceparent ? { traceparent } : {}) };
      const outcome = await this.batcher.add({ item, sizeBytes: inputBytes + 1024 });
      if (outcome.error) throw SwarmError.fromWire(outcome.error);
      if (!outcome.task) throw new InternalError(`malformed ${TaskCommands.createMany.name} reply: an item with neither task nor error`);
      return outcome.task;
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  /** One gathered message; its own spans start a trace of their own (not any one task's). */
  private async send(batch: PendingCreate[]): Promise<CreateTaskOutcome[]> {
    const items = batch.map((p) => p.item);
    try {
      const reply = await context.with(trace.deleteSpan(context.active()), () => this.bus.request(TaskCommands.createMany, { items }));
      if (reply.items.length !== items.length)
        throw new InternalError(`${TaskCommands.createMany.name} answered ${reply.items.length} items for ${items.length}`);
      return reply.items;
    } catch (err) {
      if (!(err instanceof SwarmError) || err.code !== 'SERVICE_UNAVAILABLE') throw err;
      if (err.details?.reason === 'MAX_PAYLOAD_EXCEEDED' && batch.length > 1) {
        // larger than estimated (big labels or checks): nothing was sent; send it in halves
        const mid = Math.ceil(batch.length / 2);
        const [a, b] = await Promise.all([this.send(batch.slice(0, mid)), this.send(batch.slice(mid))]);
        return [...a, ...b];
      }
      if (err.details?.reason !== 'no responders') throw err;
      // nobody answers create_many: an older coordinator (or none at all): each item alone, as before
      this.legacyUntil = Date.now() + LEGACY_RECHECK_MS;
      this.logger.warn(`no coordinator answers ${TaskCommands.createMany.name}; sending single submits alone for a while`, {
        recheckInMs: LEGACY_RECHECK_MS,
      });
      return Promise.all(
        items.map((item) =>
          context
            .with(fromTraceparent(item.traceparent), () =>
              this.bus.request(TaskCommands.create, { tenantId: item.tenantId, task: item.task }),
            )
            .then(
              (task): CreateTaskOutcome => ({ task }),
              (e: unknown): CreateTaskOutcome => ({ error: (e instanceof SwarmError ? e : new InternalError('internal error')).toWire() }),
            ),
        ),
      );
    }
  }
}
