import fc from 'fast-check';
import { IsInt, IsOptional, IsString, Length, Min, ValidateNested } from 'class-validator';
import { Type } from 'class-transformer';
import {
  BottleneckFindingDto,
  checkShape,
  createEnvelope,
  decode,
  decodeEnvelope,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_PAYLOAD_BYTES,
  encodeEnvelope,
  HealthRequest,
  parseJson,
  SubmitTasksRequest,
  SwarmError,
  validatePlain,
  type FieldViolation,
} from '@swarm-mesh/contracts';

class Inner {
  @IsInt()
  @Min(0)
  n!: number;
}

class Outer {
  @IsString()
  @Length(1, 10)
  name!: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => Inner)
  inner?: Inner;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SwarmError) return err.code;
    throw err;
  }
  throw new Error('expected a SwarmError, nothing was thrown');
}

function violationsOf(fn: () => unknown): FieldViolation[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof SwarmError) return (err.details?.violations ?? []) as FieldViolation[];
    throw err;
  }
  throw new Error('expected a SwarmError, nothing was thrown');
}

function envelopeJson(body: unknown, overrides: Record<string, unknown> = {}): string {
  const env = createEnvelope({ from: 'client:test', to: 'coordinator', type: 'coordinator.health', body: {} });
  return JSON.stringify({ ...env, body, ...overrides });
}

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe('parseJson limits', () => {
  it('rejects payloads over the limit before parsing them', () => {
    expect(codeOf(() => parseJson('{"a":1}', { maxBytes: 6 }))).toBe('PAYLOAD_TOO_LARGE');
    expect(parseJson('{"a":1}', { maxBytes: 7 })).toEqual({ a: 1 });
    // not even valid JSON: size is checked first
    expect(codeOf(() => parseJson('x'.repeat(DEFAULT_MAX_PAYLOAD_BYTES + 1)))).toBe('PAYLOAD_TOO_LARGE');
  });

  it('counts bytes, not characters', () => {
    const s = JSON.stringify({ a: 'ééé' }); // 11 characters, 14 bytes
    expect(s).toHaveLength(11);
    expect(codeOf(() => parseJson(s, { maxBytes: 13 }))).toBe('PAYLOAD_TOO_LARGE');
    expect(codeOf(() => parseJson(Buffer.from(s), { maxBytes: 13 }))).toBe('PAYLOAD_TOO_LARGE');
    expect(parseJson(Buffer.from(s), { maxBytes: 14 })).toEqual({ a: 'ééé' });
  });

  it('reads a Uint8Array view at an offset', () => {
    const buf = Buffer.from('xx{"a":2}yy');
    expect(parseJson(new Uint8Array(buf.buffer, buf.byteOffset + 2, 7))).toEqual({ a: 2 });
  });

  it.each(['', '{', '{"a":}', "{'a':1}", 'undefined', '{"a":1}}', '\u0000'])('rejects malformed JSON %j', (raw) => {
    expect(codeOf(() => parseJson(raw))).toBe('MALFORMED_JSON');
  });

  it.each([
    ['{"__proto__":{"admin":true}}', '__proto__'],
    ['{"a":{"constructor":{"prototype":{}}}}', 'a.constructor'],
    ['{"a":[{"prototype":1}]}', 'a.0.prototype'],
  ])('rejects prototype keys in %s', (raw, path) => {
    expect(codeOf(() => parseJson(raw))).toBe('VALIDATION_FAILED');
    expect(violationsOf(() => parseJson(raw))[0]).toMatchObject({ path, constraint: 'forbiddenKey' });
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it.each([
    ['{"a":"x\\u0000y"}', 'a', /U\+0000/],
    ['{"a":{"b":["ok","\\u0000"]}}', 'a.b.1', /U\+0000/],
    ['{"a":{"k\\u0000":1}}', 'a.k\u0000', /key contains U\+0000/],
    ['{"a":"\\ud800"}', 'a', /unpaired UTF-16 surrogate/],
    ['["\\udc00x"]', '0', /unpaired UTF-16 surrogate/],
  ])('rejects strings Postgres cannot store in %s', (raw, path, message) => {
    expect(codeOf(() => parseJson(raw))).toBe('VALIDATION_FAILED');
    expect(violationsOf(() => parseJson(raw))[0]).toMatchObject({ path, constraint: 'storableString' });
    expect(() => parseJson(raw)).toThrow(message);
  });

  it('accepts well-formed text: surrogate pairs (emoji) and an escaped backslash before u0000', () => {
    expect(parseJson('{"a":"\\ud83d\\ude00 😀","b":"\\\\u0000"}')).toEqual({ a: '😀 😀', b: '\\u0000' });
  });

  it('rejects nesting deeper than the limit and accepts it up to the limit', () => {
    expect(() => checkShape(nested(DEFAULT_MAX_DEPTH))).not.toThrow();
    expect(codeOf(() => checkShape(nested(DEFAULT_MAX_DEPTH + 1)))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => parseJson('['.repeat(5000) + ']'.repeat(5000)))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => parseJson(JSON.stringify(nested(5)), { maxDepth: 4 }))).toBe('VALIDATION_FAILED');
    expect(violationsOf(() => parseJson(JSON.stringify(nested(5)), { maxDepth: 4 }))[0]).toMatchObject({ constraint: 'maxDepth' });
  });
});

describe('validatePlain', () => {
  it('returns an instance of the class', () => {
    const v = validatePlain(Outer, { name: 'x', inner: { n: 1 } });
    expect(v).toBeInstanceOf(Outer);
    expect(v.inner).toBeInstanceOf(Inner);
  });

  it('reports an unknown field with its path', () => {
    const v = violationsOf(() => validatePlain(Outer, { name: 'x', bogus: 1 }));
    expect(v).toEqual([{ path: 'bogus', constraint: 'whitelistValidation', message: 'unknown field "bogus"' }]);
    const nestedV = violationsOf(() => validatePlain(Outer, { name: 'x', inner: { n: 1, extra: true } }));
    expect(nestedV).toEqual([{ path: 'inner.extra', constraint: 'whitelistValidation', message: 'unknown field "inner.extra"' }]);
  });

  it('reports every problem at once', () => {
    const v = violationsOf(() => validatePlain(Outer, { name: 5, inner: { n: -1 }, zzz: 1 }));
    expect(v.map((x) => x.path).sort()).toEqual(['inner.n', 'name', 'zzz']);
  });

  it('a value of the wrong type is reported as such, not also by the range checks it cannot pass', () => {
    expect(violationsOf(() => validatePlain(Outer, { name: 5 }))).toEqual([
      { path: 'name', constraint: 'isString', message: 'name must be a string' },
    ]);
    // a list given as an object: said once, not also validated as if it were one element
    expect(violationsOf(() => validatePlain(SubmitTasksRequest, { tenantId: 'default', tasks: { capability: 'a.b' } }))).toEqual([
      { path: 'tasks', constraint: 'isArray', message: 'tasks must be an array' },
    ]);
    expect(violationsOf(() => validatePlain(SubmitTasksRequest, { tenantId: 'default', tasks: [1] }))).toEqual([
      { path: 'tasks.0', constraint: 'nestedValidation', message: 'tasks.0 must be a JSON object' },
    ]);
    // the right type out of range: the range check speaks
    expect(violationsOf(() => validatePlain(Outer, { name: 'x'.repeat(11) }))).toEqual([
      { path: 'name', constraint: 'isLength', message: 'name must be shorter than or equal to 10 characters' },
    ]);
  });

  it('names a missing required field once as required, not by the checks its value failed', () => {
    expect(violationsOf(() => validatePlain(Outer, {}))).toEqual([{ path: 'name', constraint: 'isDefined', message: 'name is required' }]);
    expect(violationsOf(() => validatePlain(Outer, { name: 'x', inner: {} }))).toEqual([
      { path: 'inner.n', constraint: 'isDefined', message: 'n is required' },
    ]);
    // present but wrong: the checks' own messages
    expect(violationsOf(() => validatePlain(Outer, { name: '' }))[0]).toMatchObject({ path: 'name', constraint: 'isLength' });
  });

  it("a saturated_pool bottleneck finding names every capability with '*' (its reply must pass the gateway's check)", () => {
    const finding = { kind: 'saturated_pool', capability: '*', provider: 'gpt-pool', severity: 'high', summary: 'full', evidence: {} };
    expect(validatePlain(BottleneckFindingDto, finding).capability).toBe('*');
    expect(codeOf(() => validatePlain(BottleneckFindingDto, { ...finding, capability: 'Not A Capability' }))).toBe('VALIDATION_FAILED');
  });

  it('does not convert types implicitly', () => {
    expect(codeOf(() => validatePlain(HealthRequest, { deep: 'true' }))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => validatePlain(HealthRequest, { probeTimeoutMs: '100' }))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => validatePlain(Outer, { name: 'x', inner: 'abc' }))).toBe('VALIDATION_FAILED');
  });

  it.each([null, [], 'x', 3, true, undefined])('rejects the non-object %j', (plain) => {
    expect(violationsOf(() => validatePlain(HealthRequest, plain))).toEqual([
      { path: '(root)', message: 'expected a JSON object', constraint: 'isObject' },
    ]);
  });

  it('decode() = parseJson + validatePlain', () => {
    expect(decode(Outer, '{"name":"ok"}')).toBeInstanceOf(Outer);
    expect(codeOf(() => decode(Outer, '{"name":"ok"'))).toBe('MALFORMED_JSON');
    expect(codeOf(() => decode(Outer, '{"name":"ok"}', { maxBytes: 3 }))).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('decodeEnvelope', () => {
  it('decodes what encodeEnvelope produced', () => {
    const env = createEnvelope({ from: 'a', to: 'b', type: 'x.y', body: { k: [1, { z: null }] }, priority: 'HIGH', ttl: 1000 });
    const back = decodeEnvelope(encodeEnvelope(env));
    expect(back).toEqual(env);
  });

  it('distinguishes the failure classes', () => {
    expect(codeOf(() => decodeEnvelope('not json'))).toBe('MALFORMED_JSON');
    expect(codeOf(() => decodeEnvelope(envelopeJson({}), { maxBytes: 10 }))).toBe('PAYLOAD_TOO_LARGE');
    expect(codeOf(() => decodeEnvelope('{"body":{}}'))).toBe('INVALID_ENVELOPE');
    expect(codeOf(() => decodeEnvelope('[]'))).toBe('INVALID_ENVELOPE');
    const polluted = envelopeJson({ placeholder: { admin: true } }).replace('"placeholder"', '"__proto__"');
    expect(polluted).toContain('"__proto__":{"admin":true}');
    expect(codeOf(() => decodeEnvelope(polluted))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => decodeEnvelope(envelopeJson({ constructor: { prototype: {} } })))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => decodeEnvelope(envelopeJson(nested(40))))).toBe('VALIDATION_FAILED');
  });

  it('names the missing or wrong envelope fields', () => {
    const v = violationsOf(() => decodeEnvelope(envelopeJson({}, { id: 'not-a-uuid', priority: 'URGENT', bogus: 1 })));
    expect(v.map((x) => x.path).sort()).toEqual(['bogus', 'id', 'priority']);
    const missing = violationsOf(() => decodeEnvelope(JSON.stringify({ body: {} })));
    expect(new Set(missing.map((x) => x.path))).toEqual(new Set(['id', 'from', 'to', 'type', 'priority', 'timestamp', 'ttl']));
  });

  it('keeps the parsed body (no class instance, no prototype surprises)', () => {
    const env = decodeEnvelope(envelopeJson({ deep: true, list: [1] }));
    expect(Object.getPrototypeOf(env.body)).toBe(Object.prototype);
    expect(env.body).toEqual({ deep: true, list: [1] });
  });

  it('rejects expired messages and accepts live ones', () => {
    const env = createEnvelope({ from: 'a', to: 'b', type: 't', body: {}, ttl: 100 });
    const sent = Date.parse(env.timestamp);
    expect(() => decodeEnvelope(encodeEnvelope(env), {}, sent + 50)).not.toThrow();
    expect(codeOf(() => decodeEnvelope(encodeEnvelope(env), {}, sent + 101))).toBe('MESSAGE_EXPIRED');
    const forever = createEnvelope({ from: 'a', to: 'b', type: 't', body: {} });
    expect(() => decodeEnvelope(encodeEnvelope(forever), {}, Date.parse(forever.timestamp) + 10 ** 12)).not.toThrow();
  });

  it('body must be an object', () => {
    for (const body of [null, [], 'x', 1]) expect(codeOf(() => decodeEnvelope(envelopeJson(body)))).toBe('INVALID_ENVELOPE');
  });
});

describe('decodeEnvelope never throws anything but a SwarmError (property)', () => {
  const onlySwarmErrors = (input: string | Uint8Array): void => {
    try {
      decodeEnvelope(input, { maxBytes: 64 * 1024 });
    } catch (err) {
      if (!(err instanceof SwarmError)) throw new Error(`non-SwarmError thrown: ${String(err)}`);
    }
  };

  it('for arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), onlySwarmErrors), { numRuns: 500 });
  });

  it('for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => onlySwarmErrors(b)),
      { numRuns: 300 },
    );
  });

  it('for arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => onlySwarmErrors(JSON.stringify(v))),
      { numRuns: 500 },
    );
  });

  it('for envelopes with arbitrary fields and bodies', () => {
    const fieldValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('__proto__', 'constructor'));
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.oneof(fc.constantFrom('id', 'from', 'to', 'type', 'priority', 'timestamp', 'ttl', 'body', 'deliveryStatus'), fc.string()),
          fieldValue,
        ),
        fc.jsonValue({ maxDepth: 4 }),
        (fields, body) => {
          const env = createEnvelope({ from: 'a', to: 'b', type: 't', body: {} });
          onlySwarmErrors(JSON.stringify({ ...env, ...fields }));
          onlySwarmErrors(JSON.stringify({ ...env, body }));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('for strings with injected prototype keys', () => {
    fc.assert(
      fc.property(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.jsonValue({ maxDepth: 3 }), (key, value) => {
        const env = createEnvelope({ from: 'a', to: 'b', type: 't', body: {} });
        const raw = JSON.stringify({ ...env, body: { placeholder: value } }).replace('"placeholder"', JSON.stringify(key));
        try {
          decodeEnvelope(raw);
          return false;
        } catch (err) {
          return err instanceof SwarmError && err.code === 'VALIDATION_FAILED';
        }
      }),
      { numRuns: 200 },
    );
  });
});
