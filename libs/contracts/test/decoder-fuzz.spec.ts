/**
 * Property-based fuzzing of every message decoder in the catalogue (issue 9): each command's
 * request and reply, and each message's payload, goes through the path a service takes on
 * receipt (`decodeEnvelope` with the definition's size limit, then `validatePlain` against the
 * definition's class) with FUZZ_DECODER_RUNS (default 1,000) generated inputs: malformed JSON,
 * wrong types, unknown and `__proto__` keys, huge strings, deep nesting, oversized payloads.
 * A decoder may only accept (returning an instance of its class, with no polluted prototype) or
 * refuse with a SwarmError carrying a stable code: anything else is a crash in a service.
 */
import fc from 'fast-check';
import * as contracts from '@swarm-mesh/contracts';
import { createEnvelope, decodeEnvelope, SwarmError, validatePlain } from '@swarm-mesh/contracts';

const RUNS = Number(process.env.FUZZ_DECODER_RUNS ?? 1000);

type Ctor = new () => object;
interface Decoder {
  name: string;
  cls: Ctor;
  maxBytes: number;
}

/** Every command and message definition exported by the contracts lib (also inside groups). */
function decoders(): Decoder[] {
  const out = new Map<string, Decoder>();
  const seen = new Set<unknown>();
  const visit = (v: unknown, depth: number): void => {
    if (typeof v !== 'object' || v === null || seen.has(v) || depth > 3) return;
    seen.add(v);
    const d = v as Record<string, unknown>;
    if (d.kind === 'command' && typeof d.name === 'string') {
      out.set(`${d.name} request`, { name: `${d.name} request`, cls: d.request as Ctor, maxBytes: d.maxPayloadBytes as number });
      out.set(`${d.name} reply`, { name: `${d.name} reply`, cls: d.reply as Ctor, maxBytes: 64 * 1024 * 1024 });
      return;
    }
    if (d.kind === 'message' && typeof d.name === 'string') {
      out.set(`${d.name}`, { name: d.name, cls: d.payload as Ctor, maxBytes: d.maxPayloadBytes as number });
      return;
    }
    if (Array.isArray(v)) for (const x of v) visit(x, depth + 1);
    else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(d)) visit(x, depth + 1);
  };
  for (const v of Object.values(contracts)) visit(v, 0);
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
}

const KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'id',
  'taskId',
  'tenantId',
  'agentId',
  'capability',
  'capabilities',
  'tasks',
  'input',
  'priority',
  'epoch',
  'attempt',
  'state',
  'items',
  'pools',
  'body',
];
/** Huge strings in likely fields (far over any field's limit, under the payload limits). */
const HUGE_FIELDS = KEYS.slice(3).map((k) =>
  JSON.stringify(createEnvelope({ from: 'f', to: 'x', type: 't', body: { [k]: 'x'.repeat(300_000) } })),
);
/** Over every request's payload limit (checked before parsing). */
const OVERSIZED = `{"body":{"id":"${'x'.repeat(8 * 1024 * 1024)}"}}`;

/** Raw payload text: what could arrive on a subject. */
const rawInput: fc.Arbitrary<string> = fc.oneof(
  // an envelope whose body is arbitrary JSON, or an object of likely keys with arbitrary values
  fc
    .oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 12 })), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }),
      fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
    )
    .map((body) => JSON.stringify(createEnvelope({ from: 'fuzz', to: 'x', type: 't', body: body as object }))),
  // prototype keys written literally (JSON.stringify drops a real __proto__)
  fc
    .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.jsonValue({ maxDepth: 2 }))
    .map(([k, v]) =>
      JSON.stringify(createEnvelope({ from: 'fuzz', to: 'x', type: 't', body: { placeholder: v } })).replace(
        '"placeholder"',
        JSON.stringify(k),
      ),
    ),
  // wrong types for the envelope itself, and malformed JSON
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ maxLength: 60 }).map((s) => `{"body":{"a":${s}`),
  // deep nesting, huge strings, oversized payloads
  fc
    .integer({ min: 50, max: 5000 })
    .map((n) =>
      JSON.stringify(createEnvelope({ from: 'f', to: 'x', type: 't', body: {} })).replace('{}', `{"a":${'['.repeat(n)}${']'.repeat(n)}}`),
    ),
  fc.constantFrom(...HUGE_FIELDS, OVERSIZED),
);

describe('every message decoder survives arbitrary input (property)', () => {
  const all = decoders();

  it('finds the catalogue', () => {
    // commands of all five services and the agent protocol, their replies, events and channels
    expect(all.length).toBeGreaterThan(100);
  });

  it.each(all.map((d) => [d.name, d] as const))(`%s: accepts or refuses with a SwarmError (${RUNS} cases)`, (_name, d) => {
    let refused = 0;
    fc.assert(
      fc.property(rawInput, (raw) => {
        try {
          const env = decodeEnvelope(raw, { maxBytes: d.maxBytes });
          const value = validatePlain(d.cls, env.body, d.name);
          // accepted: an instance of the class, nothing smuggled into a prototype
          if (!(value instanceof d.cls)) return false;
          if (Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')) return false;
          return true;
        } catch (err) {
          refused++;
          return err instanceof SwarmError && typeof err.code === 'string' && typeof err.retryable === 'boolean';
        }
      }),
      { numRuns: RUNS, seed: 20261122 },
    );
    expect(refused).toBeGreaterThan(0);
  });
});
