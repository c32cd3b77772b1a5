import { AttemptAbortedError, mockTaskContext, runMockTask, type TaskHandler } from '@swarm-mesh/agent-sdk';

describe('mockTaskContext / runMockTask', () => {
  it('records progress, usage and checkpoints and reports like the agent', async () => {
    const handler: TaskHandler<{ n: number }> = async (ctx) => {
      ctx.progress(0.5, 'half');
      ctx.reportUsage({ tokensIn: 10, provider: 'p' });
      ctx.reportUsage({ tokensIn: 5, tokensOut: 2 });
      await ctx.checkpoint({ at: ctx.input.n });
      ctx.heartbeat();
      return { doubled: ctx.input.n * 2, cp: ctx.checkpointData };
    };
    const { result, mock } = await runMockTask(handler, { input: { n: 21 }, attempt: 2 });
    expect(result).toMatchObject({
      outcome: 'succeeded',
      attempt: 2,
      result: { doubled: 42, cp: { at: 21 } },
      usage: { tokensIn: 15, tokensOut: 2, provider: 'p' },
    });
    expect(mock.progress).toEqual([{ percent: 0.5, message: 'half' }]);
    expect(mock.checkpoints).toEqual([{ at: 21 }]);
    expect(mock.heartbeats).toBe(1);
  });

  it('validates usage and progress arguments', () => {
    const { ctx } = mockTaskContext();
    expect(() => ctx.reportUsage({ tokensIn: -1 })).toThrow(/integer ≥ 0/);
    expect(() => ctx.reportUsage({ tokensOut: 1.5 })).toThrow(/integer ≥ 0/);
    expect(() => ctx.reportUsage({ costUsd: -0.1 })).toThrow(/≥ 0/);
    expect(() => ctx.reportUsage({ model: '' })).toThrow(/1–200/);
    expect(() => ctx.progress(1.5)).toThrow(RangeError);
  });

  it('reports cancelled when the handler throws after an abort', async () => {
    const handler: TaskHandler = (ctx) =>
      new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
    const { result, mock } = await runMockTask(handler, {}, (m) => m.abort());
    expect(result.outcome).toBe('cancelled');
    expect(mock.ctx.signal.reason).toBeInstanceOf(AttemptAbortedError);
    await expect(mock.ctx.checkpoint({})).rejects.toBeInstanceOf(AttemptAbortedError);
  });
});

describe('mock context: subtasks and validation feedback', () => {
  it('spawns children, awaits them and reads the feedback of a refused attempt', async () => {
    const { runMockTask, ChildTaskFailedError } = await import('../src');
    const { result, mock } = await runMockTask(
      async (ctx) => {
        const kids = await ctx.spawn([{ capability: 'a.work' }, { capability: 'b.work' }]);
        const outcomes = await ctx.awaitChildren(kids);
        let failed = '';
        try {
          await kids[1]!.result();
        } catch (err) {
          failed = err instanceof ChildTaskFailedError ? (err.code ?? '') : 'other';
        }
        return { states: outcomes.map((o) => o.state), failed, feedback: ctx.feedback?.failures.map((f) => f.path) ?? [] };
      },
      {
        previousErrors: [
          {
            message: 'result failed 1 validation check',
            code: 'VALIDATION_FAILED',
            retryable: true,
            details: { failures: [{ check: 'nonEmpty', path: 'body', message: 'field body is empty' }] },
          },
        ],
        onChild: (spec) =>
          spec.capability === 'b.work'
            ? { state: 'failed', error: { message: 'no', retryable: false } }
            : { state: 'succeeded', result: { ok: true } },
      },
    );
    expect(result.outcome).toBe('succeeded');
    expect(result.result).toEqual({ states: ['succeeded', 'failed'], failed: 'CHILD_TASK_FAILED', feedback: ['body'] });
    expect(mock.spawned.map((s) => s.capability)).toEqual(['a.work', 'b.work']);
  });
});
