import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { SpanKind, startTelemetry, type TelemetryHandle } from '@swarm-mesh/telemetry';
import type { MeshBus } from '@swarm-mesh/messaging';
import { cleanupNamespace, connectTestBus, eventually, randomNamespace } from '@swarm-mesh/testing';
import { AgentPool } from './support/helpers';
import { makeTask, StubCoordinator } from './support/stub-coordinator';

const namespace = randomNamespace('sdktr');
const exporter = new InMemorySpanExporter();
let telemetry: TelemetryHandle;
let bus: MeshBus;
let stub: StubCoordinator;
const pool = new AgentPool(namespace);

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: 'agent-sdk-test', exporter, instrumentHttp: false });
  bus = await connectTestBus({ namespace, identity: 'coordinator' });
  stub = new StubCoordinator(bus);
  await stub.start();
});

afterAll(async () => {
  await pool.stopAll();
  await stub?.stop();
  if (bus) {
    await cleanupNamespace(bus);
    await bus.close();
  }
  await telemetry?.shutdown();
});

it('runs each attempt in a `run <capability>` span whose parent is the task traceparent', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parentSpanId = '00f067aa0ba902b7';
  const agent = pool.make({ id: 'trace-agent' });
  let seenTraceId: string | undefined;
  agent.handle('test.trace', (ctx) => {
    seenTraceId = ctx.traceId;
    return {};
  });
  agent.handle('test.failtrace', () => {
    throw new Error('traced failure');
  });
  await agent.start();
  const task = makeTask('test.trace', { attempt: 2, traceparent: `00-${traceId}-${parentSpanId}-01` });
  const failing = makeTask('test.failtrace', { traceparent: `00-${traceId}-${parentSpanId}-01` });
  await stub.dispatch('trace-agent', [task, failing]);
  await eventually(() => stub.resultOf(task.taskId) && stub.resultOf(failing.taskId), { description: 'results' });

  const span = await eventually(() =>
    exporter.getFinishedSpans().find((s) => s.name === 'run test.trace' && s.attributes['swarm.task.id'] === task.taskId),
  );
  expect(span.kind).toBe(SpanKind.CONSUMER);
  expect(span.spanContext().traceId).toBe(traceId);
  expect(span.parentSpanContext?.spanId).toBe(parentSpanId);
  expect(span.attributes).toMatchObject({
    'swarm.task.id': task.taskId,
    'swarm.task.attempt': 2,
    'swarm.task.epoch': 1,
    'swarm.agent.id': 'trace-agent',
    'swarm.attempt.outcome': 'succeeded',
  });
  expect(seenTraceId).toBe(traceId);

  const failed = exporter.getFinishedSpans().find((s) => s.name === 'run test.failtrace')!;
  expect(failed.status.code).toBe(2);
  expect(failed.attributes['swarm.attempt.outcome']).toBe('failed');
  // results and reports carry no spans of their own
  expect(exporter.getFinishedSpans().some((s) => /agent\.results|agent\.reports|agent\.heartbeat/.test(s.name))).toBe(false);
});
