import {
  DatabaseUnavailableError,
  DuplicateIdempotencyKeyError,
  ERROR_CODES,
  type ErrorCode,
  ForbiddenError,
  InternalError,
  InvalidEnvelopeError,
  InvalidStateTransitionError,
  isErrorCode,
  MalformedJsonError,
  MessageExpiredError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  ServiceUnavailableError,
  StaleLeaseError,
  SwarmError,
  TimeoutError,
  toSwarmError,
  UnauthenticatedError,
  UnknownCapabilityError,
  ValidationError,
} from '@swarm-mesh/contracts';

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

describe('error codes', () => {
  it('are UPPER_SNAKE, each with an HTTP status, a retryable flag and a description', () => {
    expect(CODES.length).toBeGreaterThan(10);
    for (const code of CODES) {
      const info = ERROR_CODES[code];
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(Number.isInteger(info.httpStatus)).toBe(true);
      expect(info.httpStatus).toBeGreaterThanOrEqual(400);
      expect(info.httpStatus).toBeLessThan(600);
      expect(typeof info.retryable).toBe('boolean');
      expect(info.description.length).toBeGreaterThan(5);
    }
  });

  it('retryable codes are exactly the transient ones', () => {
    const retryable = CODES.filter((c) => ERROR_CODES[c].retryable).sort();
    expect(retryable).toEqual(['DATABASE_UNAVAILABLE', 'OVERLOADED', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'TIMEOUT']);
  });

  it('maps the codes the contract names to the right statuses', () => {
    expect(ERROR_CODES.VALIDATION_FAILED.httpStatus).toBe(400);
    expect(ERROR_CODES.MALFORMED_JSON.httpStatus).toBe(400);
    expect(ERROR_CODES.PAYLOAD_TOO_LARGE.httpStatus).toBe(413);
    expect(ERROR_CODES.TASK_NOT_FOUND.httpStatus).toBe(404);
    expect(ERROR_CODES.ROUTE_NOT_FOUND.httpStatus).toBe(404);
    expect(ERROR_CODES.UNAUTHENTICATED.httpStatus).toBe(401);
    expect(ERROR_CODES.FORBIDDEN.httpStatus).toBe(403);
    expect(ERROR_CODES.RATE_LIMITED.httpStatus).toBe(429);
    expect(ERROR_CODES.INTERNAL.httpStatus).toBe(500);
    expect(ERROR_CODES.SERVICE_UNAVAILABLE.httpStatus).toBe(503);
    expect(ERROR_CODES.TIMEOUT.httpStatus).toBe(504);
  });

  it('isErrorCode recognises exactly the codes (not inherited keys)', () => {
    for (const c of CODES) expect(isErrorCode(c)).toBe(true);
    for (const v of ['toString', '__proto__', 'constructor', 'internal', '', 1, null, undefined, {}]) expect(isErrorCode(v)).toBe(false);
  });
});

describe('SwarmError', () => {
  it.each(CODES)('%s round-trips through toWire/fromWire', (code) => {
    const err = new SwarmError(code, `failure ${code}`, { a: 1, nested: { b: [1, 2] } });
    expect(err).toBeInstanceOf(Error);
    expect(err.httpStatus).toBe(ERROR_CODES[code].httpStatus);
    expect(err.retryable).toBe(ERROR_CODES[code].retryable);
    const wire = JSON.parse(JSON.stringify(err.toWire())) as unknown;
    expect(wire).toEqual({
      code,
      message: `failure ${code}`,
      details: { a: 1, nested: { b: [1, 2] } },
      retryable: ERROR_CODES[code].retryable,
    });
    const back = SwarmError.fromWire(wire);
    expect(back).toBeInstanceOf(SwarmError);
    expect(back.code).toBe(code);
    expect(back.message).toBe(err.message);
    expect(back.details).toEqual(err.details);
    expect(back.retryable).toBe(err.retryable);
    expect(back.toWire()).toEqual(wire);
  });

  it('omits details from the wire when there are none', () => {
    expect(new SwarmError('CONFLICT', 'x').toWire()).toEqual({ code: 'CONFLICT', message: 'x', retryable: false });
  });

  it('keeps an explicit retryable override across the wire', () => {
    const err = new SwarmError('CONFLICT', 'try again', undefined, true);
    expect(SwarmError.fromWire(err.toWire()).retryable).toBe(true);
    const err2 = new SwarmError('TIMEOUT', 'do not retry', undefined, false);
    expect(SwarmError.fromWire(err2.toWire()).retryable).toBe(false);
  });

  it.each([null, undefined, 'TIMEOUT', 42, []])('fromWire(%j) is INTERNAL', (wire) => {
    const e = SwarmError.fromWire(wire);
    expect(e.code).toBe('INTERNAL');
  });

  it('fromWire tolerates unknown codes and wrong field types', () => {
    const e = SwarmError.fromWire({ code: 'NO_SUCH_CODE', message: 7, details: 'x', retryable: 'yes' });
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toBe('unknown error');
    expect(e.details).toBeUndefined();
    expect(e.retryable).toBe(false);
    expect(SwarmError.fromWire({ code: 'toString' }).code).toBe('INTERNAL');
  });

  it('subclasses carry their codes and details', () => {
    const cases: Array<[SwarmError, ErrorCode]> = [
      [new MalformedJsonError(), 'MALFORMED_JSON'],
      [new ValidationError('bad', [{ path: 'a', message: 'm' }]), 'VALIDATION_FAILED'],
      [new PayloadTooLargeError(20, 10), 'PAYLOAD_TOO_LARGE'],
      [new InvalidEnvelopeError('bad'), 'INVALID_ENVELOPE'],
      [new MessageExpiredError('m1', 10, 5), 'MESSAGE_EXPIRED'],
      [new NotFoundError('task', 't1'), 'TASK_NOT_FOUND'],
      [new NotFoundError('agent', 'a1'), 'AGENT_NOT_FOUND'],
      [new NotFoundError('dead-letter', 'd1'), 'DEAD_LETTER_NOT_FOUND'],
      [new NotFoundError('pool', 'p1'), 'NOT_FOUND'],
      [new InvalidStateTransitionError('no'), 'INVALID_STATE_TRANSITION'],
      [new DuplicateIdempotencyKeyError('k', 't1'), 'DUPLICATE_IDEMPOTENCY_KEY'],
      [new UnknownCapabilityError(['x']), 'UNKNOWN_CAPABILITY'],
      [new StaleLeaseError('t1', 1, 2), 'STALE_LEASE'],
      [new ServiceUnavailableError('coordinator'), 'SERVICE_UNAVAILABLE'],
      [new TimeoutError('coordinator', 100), 'TIMEOUT'],
      [new DatabaseUnavailableError('down'), 'DATABASE_UNAVAILABLE'],
      [new UnauthenticatedError(), 'UNAUTHENTICATED'],
      [new ForbiddenError('no'), 'FORBIDDEN'],
      [new RateLimitedError(1500), 'RATE_LIMITED'],
      [new InternalError(), 'INTERNAL'],
    ];
    for (const [err, code] of cases) {
      expect(err).toBeInstanceOf(SwarmError);
      expect(err.code).toBe(code);
      expect(err.name).toBe(err.constructor.name);
      expect(SwarmError.fromWire(err.toWire()).toWire()).toEqual(err.toWire());
    }
    expect(new PayloadTooLargeError(20, 10).details).toEqual({ sizeBytes: 20, limitBytes: 10 });
    expect(new DuplicateIdempotencyKeyError('k', 't1').details).toEqual({ idempotencyKey: 'k', existingTaskId: 't1' });
    expect(new RateLimitedError(1500).details).toEqual({ retryAfterMs: 1500 });
    expect(new ValidationError('bad', [{ path: 'a', message: 'm' }]).details).toEqual({ violations: [{ path: 'a', message: 'm' }] });
  });

  it('toSwarmError keeps SwarmErrors and hides everything else behind INTERNAL', () => {
    const se = new TimeoutError('x', 5);
    expect(toSwarmError(se)).toBe(se);
    for (const thrown of [new Error('password=hunter2'), 'string', { code: 'TIMEOUT' }, null]) {
      const e = toSwarmError(thrown);
      expect(e.code).toBe('INTERNAL');
      expect(e.message).toBe('internal error');
      expect(JSON.stringify(e.toWire())).not.toContain('hunter2');
    }
  });
});
