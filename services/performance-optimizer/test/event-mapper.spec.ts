import type { MeshEventDto } from '@swarm-mesh/contracts';
import { EventMapper } from '../src/ingest/event-mapper';

const TASK = '3f1c2a9e-5b7d-4c8e-9f0a-1b2c3d4e5f60';
const ev = (type: string, ts: string, data: Record<string, unknown>): MeshEventDto => ({
  type,
  ts,
  tenantId: 'default',
  data: { taskId: TASK, capability: 'data.fetch', priority: 1, ...data },
});

describe('EventMapper', () => {
  it('turns task.succeeded into a final sample with usage, pool and deadline', () => {
    const m = new EventMapper();
    const row = m.map(
      ev('task.succeeded', '2026-01-01T00:00:01.000Z', {
        state: 'succeeded',
        attempt: 1,
        agentId: 'data-fetch-1',
        queueWaitMs: 12,
        runMs: 80,
        totalMs: 95,
        usage: { tokensIn: 10, tokensOut: 20, costUsd: 0.001, provider: 'sim-a', model: 'sim-1' },
        deadline: '2026-01-01T00:00:00.500Z',
        traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01',
        pool: null,
      }),
    );
    expect(row).toEqual({
      task_id: TASK,
      attempt: 1,
      tenant_id: 'default',
      capability: 'data.fetch',
      agent_id: 'data-fetch-1',
      pool: 'sim-a',
      provider: 'sim-a',
      model: 'sim-1',
      priority: 1,
      queue_wait_ms: 12,
      run_ms: 80,
      total_ms: 95,
      tokens_in: 10,
      tokens_out: 20,
      cost: 0.001,
      outcome: 'succeeded',
      error_code: null,
      validation: null,
      deadline_at: '2026-01-01T00:00:00.500Z',
      workflow_id: null,
      task_state: 'succeeded',
      finished_at: '2026-01-01T00:00:01.000Z',
    });
  });

  it('fills the agent of a retried attempt and the run time of a dead-lettered one from earlier events', () => {
    const m = new EventMapper();
    expect(m.map(ev('task.dispatched', '2026-01-01T00:00:00.000Z', { attempt: 1, agentId: 'a-1', queueWaitMs: 5 }))).toBeNull();
    expect(m.map(ev('task.running', '2026-01-01T00:00:00.010Z', { attempt: 1, agentId: 'a-1' }))).toBeNull();
    const retry = m.map(
      ev('task.retry_scheduled', '2026-01-01T00:00:00.100Z', {
        attempt: 1,
        agentId: null,
        outcome: 'timed_out',
        runMs: 90,
        error: { code: 'START_TO_CLOSE_TIMEOUT' },
      }),
    )!;
    expect(retry).toMatchObject({
      agent_id: 'a-1',
      outcome: 'timed_out',
      queue_wait_ms: 5,
      run_ms: 90,
      task_state: null,
      error_code: 'START_TO_CLOSE_TIMEOUT',
    });
    m.map(ev('task.dispatched', '2026-01-01T00:00:01.000Z', { attempt: 2, agentId: 'a-2', queueWaitMs: 7 }));
    m.map(ev('task.running', '2026-01-01T00:00:01.020Z', { attempt: 2, agentId: 'a-2' }));
    const dead = m.map(
      ev('task.dead_lettered', '2026-01-01T00:00:01.520Z', {
        attempt: 2,
        agentId: null,
        reason: 'failed 2 of 2 attempts',
        error: { code: 'SIMULATED_FAILURE' },
      }),
    )!;
    expect(dead).toMatchObject({
      attempt: 2,
      agent_id: 'a-2',
      outcome: 'failed',
      run_ms: 500,
      queue_wait_ms: 7,
      task_state: 'dead_lettered',
    });
    expect(m.tracked).toBe(0);
  });

  it('records lost/preempted attempts and tasks that ended before any attempt', () => {
    const m = new EventMapper();
    expect(m.map(ev('task.requeued', '2026-01-01T00:00:00.000Z', { attempt: 3 }))).toMatchObject({
      outcome: 'lost',
      attempt: 3,
      task_state: null,
    });
    expect(m.map(ev('task.preempted_requeued', '2026-01-01T00:00:00.000Z', { attempt: 1 }))).toMatchObject({ outcome: 'preempted' });
    expect(m.map(ev('task.cancelled', '2026-01-01T00:00:00.000Z', { attempt: 0, createdAt: '2025-12-31T23:59:59.000Z' }))).toMatchObject({
      outcome: 'not_started',
      task_state: 'cancelled',
      total_ms: 1000,
    });
    expect(m.map(ev('task.timed_out', '2026-01-01T00:00:00.000Z', { attempt: 0 }))).toMatchObject({
      outcome: 'not_started',
      task_state: 'timed_out',
    });
  });

  it('records validation results and results waiting for review', () => {
    const m = new EventMapper();
    expect(
      m.map(ev('task.retry_scheduled', '2026-01-01T00:00:00Z', { attempt: 1, outcome: 'failed', error: { code: 'VALIDATION_FAILED' } })),
    ).toMatchObject({ outcome: 'failed', validation: 'failed' });
    expect(
      m.map(ev('task.needs_review', '2026-01-01T00:00:01Z', { attempt: 2, validation: { passed: false, failures: [] } })),
    ).toMatchObject({
      outcome: 'failed',
      validation: 'failed',
      task_state: null,
    });
    expect(
      m.map(ev('task.succeeded', '2026-01-01T00:00:02Z', { attempt: 3, validation: { passed: true, failures: [] }, workflowId: 'wf-9' })),
    ).toMatchObject({ validation: 'passed', workflow_id: 'wf-9', task_state: 'succeeded' });
    expect(m.map(ev('task.failed', '2026-01-01T00:00:03Z', { attempt: 1, validation: { passed: false } }))).toMatchObject({
      outcome: 'failed',
      task_state: 'failed',
      validation: 'failed',
    });
  });

  it('ignores events that end no attempt, and unusable ones', () => {
    const m = new EventMapper();
    for (const t of ['task.queued', 'task.progress', 'task.priority_changed', 'agent.registered'])
      expect(m.map(ev(t, '2026-01-01T00:00:00Z', {}))).toBeNull();
    expect(m.map(ev('task.succeeded', '2026-01-01T00:00:00Z', { taskId: 'not-a-uuid' }))).toBeNull();
    expect(m.map(ev('task.succeeded', 'yesterday', { attempt: 1 }))).toBeNull();
    const odd = m.map(
      ev('task.succeeded', '2026-01-01T00:00:00Z', { attempt: 1, runMs: -5, queueWaitMs: 1e12, usage: { costUsd: 'x', provider: 7 } }),
    )!;
    expect(odd).toMatchObject({ run_ms: null, queue_wait_ms: null, cost: null, provider: null });
  });
});
