import { randomUUID } from 'node:crypto';
import type { ResultBatch, TaskErrorDto } from '@swarm-mesh/contracts';
import { ensureStream, type MeshBus } from '@swarm-mesh/messaging';
import { MetricsRegistry, readEnv } from '@swarm-mesh/service-kit';
import { type Logger, silentLogger } from '@swarm-mesh/telemetry';
import { cleanupNamespace, connectTestBus, eventually, randomNamespace } from '@swarm-mesh/testing';
import type { DataSource } from 'typeorm';
import { AlwaysAdmit } from '../src/admission/admission-gate';
import { COORDINATOR_ENV, resolveCoordinatorOptions } from '../src/config/coordinator-options';
import { CoordinatorEngine } from '../src/engine/coordinator-engine';
import { CoordinatorMetrics } from '../src/engine/coordinator.metrics';
import { TaskStore } from '../src/engine/task-store';
import { coordinatorStreams } from '../src/streams/stream-specs';
import type { TaskTuning } from '../src/tuning/task-tuning';
import { type CoordinatorDatabase, openCoordinatorDatabase } from './support/coordinator-database';

jest.setTimeout(60_000);

/** A dependency with a bug: routing weights throw for one capability (what a bad KV entry or a regression could do). */
class BuggyTuning implements TaskTuning {
  startToCloseMs(): undefined {
    return undefined;
  }

  poolWeights(_tenantId: string, capability: string): undefined {
    if (capability === 'poison.cap') throw new TypeError("Cannot read properties of undefined (reading 'weight')");
    return undefined;
  }
}

describe('internal errors inside a tick (a bug does not stop the engine)', () => {
  let cdb: CoordinatorDatabase;
  let ds: DataSource;
  let bus: MeshBus;
  let engine: CoordinatorEngine;
  let registry: MetricsRegistry;
  const errors: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
  const namespace = randomNamespace();

  const states = async (ids: string[]): Promise<Map<string, { state: string; error: TaskErrorDto | null }>> => {
    const rows = await ds.query<Array<{ id: string; state: string; error: TaskErrorDto | null }>>(
      'SELECT id, state, error FROM coordinator.tasks WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return new Map(rows.map((r) => [r.id, { state: r.state, error: r.error }]));
  };

  beforeAll(async () => {
    cdb = await openCoordinatorDatabase();
    ds = cdb.ds;
    bus = await connectTestBus({ namespace, identity: 'coordinator' });
    const options = resolveCoordinatorOptions(readEnv(COORDINATOR_ENV, { LAZY_WRITE_MS: '0' }));
    for (const spec of coordinatorStreams(options.eventsMaxAgeMs)) await ensureStream(bus, spec);
    registry = new MetricsRegistry('coordinator', 'test');
    const logger: Logger = {
      ...silentLogger,
      error: (msg: string, fields?: Record<string, unknown>) => {
        errors.push({ msg, ...(fields ? { fields } : {}) });
      },
    };
    engine = new CoordinatorEngine(
      new TaskStore(ds),
      bus,
      options,
      logger,
      new CoordinatorMetrics(registry),
      () => {},
      new AlwaysAdmit(),
      new BuggyTuning(),
    );
    await engine.start();
    await engine.register({
      agentId: 'worker-1',
      instanceId: randomUUID(),
      tenantId: 'default',
      name: 'worker-1',
      domain: 'infra',
      tier: 'microtask',
      capabilities: ['poison.cap', 'ok.cap'],
      concurrency: 50,
    });
  });

  afterAll(async () => {
    await engine?.stop();
    if (bus) await cleanupNamespace(bus).catch(() => []);
    await bus?.close();
    await cdb?.close();
  });

  it('fails the task the engine cannot dispatch (INTERNAL), dispatches the others, and keeps going', async () => {
    const submitted = await engine.submit('default', [
      { capability: 'ok.cap', input: { n: 1 } },
      { capability: 'poison.cap', input: { n: 2 } },
      { capability: 'ok.cap', input: { n: 3 } },
    ]);
    const ids = submitted.map((t) => t.id);
    const [ok1, poison, ok3] = ids as [string, string, string];
    await eventually(
      async () => {
        const s = await states(ids);
        return s.get(poison)?.state === 'failed' && s.get(ok1)?.state === 'dispatched' && s.get(ok3)?.state === 'dispatched';
      },
      { description: 'poison failed, the others dispatched' },
    );
    const s = await states(ids);
    expect(s.get(poison)!.error).toMatchObject({ code: 'INTERNAL', retryable: false });
    expect(errors.some((e) => e.fields?.phase === 'dispatch')).toBe(true);
    const metric = await registry.registry.getSingleMetric('swarm_coordinator_internal_errors_total')!.get();
    expect(metric.values.find((v) => v.labels.phase === 'dispatch')?.value).toBeGreaterThanOrEqual(1);

    // the engine still works (the working set was rebuilt from Postgres in between): the same bug
    // again fails only its own task
    const later = await engine.submit('default', [
      { capability: 'poison.cap', input: { n: 4 } },
      { capability: 'ok.cap', input: { n: 5 } },
    ]);
    const laterIds = later.map((t) => t.id);
    await eventually(
      async () => {
        const l = await states(laterIds);
        return l.get(laterIds[0]!)?.state === 'failed' && l.get(laterIds[1]!)?.state === 'dispatched';
      },
      { description: 'the second poison task failed, the ok task dispatched' },
    );
    // the first batch's dispatched tasks survived the rebuild as they were
    const again = await states([ok1, ok3]);
    expect([again.get(ok1)?.state, again.get(ok3)?.state]).toEqual(['dispatched', 'dispatched']);
  });

  it('abandonResults (a poison results message) fails the attempts it reports with INTERNAL, not retried', async () => {
    const [task] = await engine.submit('default', [{ capability: 'ok.cap', input: { n: 6 } }]);
    await eventually(async () => (await states([task!.id])).get(task!.id)?.state === 'dispatched', { description: 'dispatched' });
    const [row] = await ds.query<Array<{ epoch: number }>>('SELECT lease_epoch AS epoch FROM coordinator.tasks WHERE id = $1', [task!.id]);
    const batch = { agentId: 'worker-1', instanceId: 'i', results: [{ taskId: task!.id, epoch: Number(row!.epoch) }] };
    await engine.abandonResults(batch as unknown as ResultBatch, 'result could not be applied');
    await eventually(async () => ['failed', 'dead_lettered'].includes((await states([task!.id])).get(task!.id)?.state ?? ''), {
      description: 'the attempt failed for good',
    });
    expect((await states([task!.id])).get(task!.id)!.error).toMatchObject({ code: 'INTERNAL', retryable: false });
  });
});
