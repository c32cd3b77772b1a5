import { ReadyQueues } from '../src/engine/ready-queues';
import { newRuntime, type TaskRecord } from '../src/engine/task-record';

function task(id: string, priority: number, queuedAt: number): TaskRecord {
  return {
    id,
    tenantId: 'default',
    capability: 'cap',
    priority,
    state: 'queued',
    input: {},
    options: { maxAttempts: 1, backoffMs: [1], jitter: 0 },
    idempotencyKey: null,
    attempt: 0,
    epoch: 0,
    agentId: null,
    attempts: [],
    result: null,
    error: null,
    checkpoint: null,
    progress: null,
    traceparent: null,
    labels: {},
    deadline: null,
    createdAt: queuedAt,
    updatedAt: queuedAt,
    queuedAt,
    startedAt: null,
    finishedAt: null,
    nextAttemptAt: null,
    rt: newRuntime(queuedAt),
  };
}

describe('ReadyQueues', () => {
  const tasks = new Map<string, TaskRecord>();
  const add = (q: ReadyQueues, t: TaskRecord): void => {
    tasks.set(t.id, t);
    q.enqueue(t);
  };
  const drain = (q: ReadyQueues, now: number): string[] => {
    const order: string[] = [];
    const cq = q.queue('default', 'cap');
    for (let h = q.head(cq, now); h; h = q.head(cq, now)) {
      q.take(h.task);
      h.task.state = 'dispatched';
      order.push(h.task.id);
    }
    return order;
  };

  beforeEach(() => tasks.clear());

  it('orders by priority, then by age', () => {
    const q = new ReadyQueues(60_000, (id) => tasks.get(id));
    add(q, task('low-1', 0, 1));
    add(q, task('high-1', 2, 2));
    add(q, task('crit-1', 3, 3));
    add(q, task('low-2', 0, 4));
    add(q, task('high-2', 2, 5));
    expect(drain(q, 10)).toEqual(['crit-1', 'high-1', 'high-2', 'low-1', 'low-2']);
  });

  it('ages waiting tasks so LOW never starves', () => {
    const q = new ReadyQueues(1000, (id) => tasks.get(id));
    add(q, task('old-low', 0, 0));
    add(q, task('new-critical', 3, 9_000));
    // at t=10s the LOW task has aged past CRITICAL (0 + 10 levels, capped at +4) and is older
    expect(drain(q, 10_000)).toEqual(['old-low', 'new-critical']);
  });

  it('keeps counts right through removal and priority changes (lazy deletion)', () => {
    const q = new ReadyQueues(60_000, (id) => tasks.get(id));
    const a = task('a', 1, 1);
    const b = task('b', 1, 2);
    add(q, a);
    add(q, b);
    q.remove(a);
    a.state = 'cancelled';
    q.remove(b);
    b.priority = 3;
    q.enqueue(b);
    const cq = q.queue('default', 'cap');
    expect(cq.counts).toEqual([0, 0, 0, 1]);
    expect(drain(q, 5)).toEqual(['b']);
    expect(cq.size).toBe(0);
  });

  it('skips tasks that cannot be placed without blocking the rest', () => {
    const q = new ReadyQueues(60_000, (id) => tasks.get(id));
    add(q, task('pinned', 2, 1));
    add(q, task('free', 2, 2));
    const h = q.head(q.queue('default', 'cap'), 5, new Set(['pinned']));
    expect(h?.task.id).toBe('free');
  });
});
