import { NonRetryableError, SDK_ERROR_CODES, settleAttempt, TaskError, toTaskErrorDto } from '@swarm-mesh/agent-sdk';
import { SwarmError } from '@swarm-mesh/contracts';

const info = {
  taskId: 't',
  attempt: 2,
  epoch: 3,
  capability: 'x.y',
  startToCloseMs: 100,
  startedAt: '2024-01-01T00:00:00.000Z',
  usage: {},
};

describe('toTaskErrorDto', () => {
  it('keeps TaskError code, retryable flag and details', () => {
    const dto = toTaskErrorDto(new TaskError('slow', { code: 'PROVIDER_TIMEOUT', details: { ms: 5 } }), 2, 'now');
    expect(dto).toEqual({ message: 'slow', code: 'PROVIDER_TIMEOUT', retryable: true, details: { ms: 5 }, attempt: 2, at: 'now' });
    expect(toTaskErrorDto(new NonRetryableError('bad'), 1).retryable).toBe(false);
  });

  it('maps SwarmErrors, plain errors and non-errors', () => {
    expect(toTaskErrorDto(new SwarmError('TIMEOUT', 'late'), 1)).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(toTaskErrorDto(new SwarmError('FORBIDDEN', 'no'), 1)).toMatchObject({ code: 'FORBIDDEN', retryable: false });
    const sys = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    expect(toTaskErrorDto(sys, 1)).toMatchObject({ message: 'reset', code: 'ECONNRESET', retryable: true });
    expect(toTaskErrorDto(new Error('x'), 1)).toMatchObject({ code: SDK_ERROR_CODES.HANDLER_ERROR, retryable: true });
    expect(toTaskErrorDto('just a string', 1)).toMatchObject({ message: 'just a string', retryable: true });
    expect(toTaskErrorDto({ weird: true }, 1).message).toMatch(/non-error thrown/);
  });

  it('bounds message and details to what the contract accepts', () => {
    const dto = toTaskErrorDto(new TaskError('m'.repeat(9000), { details: { big: 'x'.repeat(20_000) } }), 1);
    expect(dto.message.length).toBeLessThanOrEqual(8000);
    expect(dto.details).toEqual({ truncated: true });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(toTaskErrorDto(new TaskError('c', { details: circular }), 1).details).toEqual({ unserialisable: true });
  });
});

describe('strings Postgres cannot store (U+0000, unpaired surrogates)', () => {
  it('are repaired with U+FFFD in error messages, codes and details; well-formed text is kept', () => {
    const dto = toTaskErrorDto(
      new TaskError('bad\u0000byte \ud800 😀', { code: 'E\u0000', details: { k: 'v\u0000', list: ['\udc00'], literal: '\\u0000' } }),
      1,
    );
    expect(dto.message).toBe('bad\ufffdbyte \ufffd 😀');
    expect(dto.code).toBe('E\ufffd');
    expect(dto.details).toEqual({ k: 'v\ufffd', list: ['\ufffd'], literal: '\\u0000' });
    expect(toTaskErrorDto(new Error('plain\u0000'), 1).message).toBe('plain\ufffd');
  });

  it('in a result fail the attempt with INVALID_RESULT (not retryable) instead of reporting what the mesh refuses', () => {
    for (const value of [{ s: 'a\u0000b' }, { nested: [{ s: '\ud800' }] }, { ['k\u0000']: 1 }]) {
      const r = settleAttempt(info, { threw: false, value, abortReason: undefined }, 'ag');
      expect(r).toMatchObject({ outcome: 'failed', error: { code: 'INVALID_RESULT', retryable: false } });
      expect(r.error?.message).toMatch(/U\+0000/);
      expect(r.result).toBeUndefined();
    }
    const ok = settleAttempt(
      info,
      { threw: false, value: { s: 'emoji 😀, a backslash-u0000 as text: \\u0000' }, abortReason: undefined },
      'ag',
    );
    expect(ok.outcome).toBe('succeeded');
  });
});

describe('settleAttempt', () => {
  it('succeeds with a JSON object and attaches usage', () => {
    const r = settleAttempt({ ...info, usage: { tokensIn: 3 } }, { threw: false, value: { a: 1 }, abortReason: undefined }, 'ag', 'end');
    expect(r).toEqual({
      taskId: 't',
      attempt: 2,
      epoch: 3,
      outcome: 'succeeded',
      result: { a: 1 },
      startedAt: info.startedAt,
      finishedAt: 'end',
      usage: { tokensIn: 3 },
    });
  });

  it('rejects results that are not JSON objects', () => {
    for (const value of [undefined, null, 1, 'x', [1], new Date(), new Map()]) {
      const r = settleAttempt(info, { threw: false, value, abortReason: undefined }, 'ag');
      expect(r).toMatchObject({ outcome: 'failed', error: { code: 'INVALID_RESULT', retryable: false } });
    }
  });

  it('maps abort reasons', () => {
    expect(settleAttempt(info, { threw: true, error: new Error('x'), abortReason: 'cancelled' }, 'ag').outcome).toBe('cancelled');
    expect(settleAttempt(info, { threw: false, value: {}, abortReason: 'cancelled' }, 'ag').outcome).toBe('succeeded');
    expect(settleAttempt(info, { threw: false, value: {}, abortReason: 'timeout' }, 'ag')).toMatchObject({
      outcome: 'failed',
      error: { code: 'START_TO_CLOSE_TIMEOUT', retryable: true, message: 'attempt exceeded startToCloseMs (100 ms)' },
    });
    expect(settleAttempt(info, { threw: true, error: new Error('x'), abortReason: 'shutdown' }, 'ag')).toMatchObject({
      outcome: 'cancelled',
      error: { code: 'AGENT_SHUTDOWN', retryable: true },
    });
  });
});
