import { validateCompiled } from './compiled-validator';
import { type FieldViolation, MalformedJsonError, PayloadTooLargeError, ValidationError } from '../errors/errors';

/** A class with a no-argument constructor (DTO classes). */
export type Ctor<T> = new () => T;

/** Limits applied while decoding untrusted payloads. */
export interface DecodeLimits {
  /** Largest accepted payload in bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Deepest accepted JSON nesting. Default 32. */
  maxDepth?: number;
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 32;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Parses JSON from bytes or a string, enforcing the size limit first, then rejecting
 * prototype-polluting keys and excessive nesting.
 */
export function parseJson(raw: Uint8Array | string, limits: DecodeLimits = {}): unknown {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
  if (size > maxBytes) throw new PayloadTooLargeError(size, maxBytes);
  const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new MalformedJsonError(`payload is not valid JSON: ${(err as Error).message}`);
  }
  checkShape(value, limits.maxDepth ?? DEFAULT_MAX_DEPTH);
  return value;
}

/** `String.prototype.isWellFormed` (Node 20; its type is in TypeScript's ES2024 lib, past our ES2023 target). */
type WellFormedString = string & { isWellFormed(): boolean };

/**
 * Why a string cannot be stored (Postgres `text` and `jsonb` refuse U+0000, and `jsonb` an
 * unpaired surrogate `\ud800`), or null when it can.
 */
function unstorable(s: string): string | null {
  if (s.indexOf('\u0000') !== -1) return 'contains U+0000 (NUL), which cannot be stored';
  if (!(s as WellFormedString).isWellFormed()) return 'contains an unpaired UTF-16 surrogate, which cannot be stored';
  return null;
}

function refuseString(keys: Array<string | number>, why: string): never {
  throw new ValidationError(`string ${why}`, [
    { path: keys.length > 0 ? keys.join('.') : '(root)', message: why, constraint: 'storableString' },
  ]);
}

/**
 * Rejects `__proto__`/`constructor`/`prototype` keys, nesting deeper than maxDepth, and strings
 * (values or keys) no database can store — U+0000 and unpaired surrogates: accepted, they would
 * fail the write of everything committed with them. Runs on every decoded message, so it walks
 * without allocating: one shared key stack, joined into a path only for the error.
 */
export function checkShape(value: unknown, maxDepth: number = DEFAULT_MAX_DEPTH): void {
  if (typeof value === 'object' && value !== null) walkShape(value, 0, maxDepth, []);
}

function walkShape(v: object, depth: number, maxDepth: number, keys: Array<string | number>): void {
  if (depth >= maxDepth) {
    const path = keys.length > 0 ? keys.join('.') : '(root)';
    throw new ValidationError(`payload nests deeper than ${maxDepth} levels`, [
      { path, message: `nesting deeper than ${maxDepth}`, constraint: 'maxDepth' },
    ]);
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const child: unknown = v[i];
      if (typeof child === 'string') {
        const why = unstorable(child);
        if (why) refuseString([...keys, i], why);
        continue;
      }
      if (typeof child !== 'object' || child === null) continue;
      keys.push(i);
      walkShape(child, depth + 1, maxDepth, keys);
      keys.pop();
    }
    return;
  }
  const names = Object.keys(v);
  for (let i = 0; i < names.length; i++) {
    const key = names[i]!;
    if (FORBIDDEN_KEYS.has(key)) {
      keys.push(key);
      throw new ValidationError(`forbidden key "${key}"`, [{ path: keys.join('.'), message: 'forbidden key', constraint: 'forbiddenKey' }]);
    }
    const keyWhy = unstorable(key);
    if (keyWhy) refuseString([...keys, key], `key ${keyWhy}`);
    const child: unknown = (v as Record<string, unknown>)[key];
    if (typeof child === 'string') {
      const why = unstorable(child);
      if (why) refuseString([...keys, key], why);
      continue;
    }
    if (typeof child !== 'object' || child === null) continue;
    keys.push(key);
    walkShape(child, depth + 1, maxDepth, keys);
    keys.pop();
  }
}

/** Constraints on a value's JSON type: when one fails, the range checks of the same field say nothing more. */
const TYPE_CONSTRAINTS = new Set([
  'isDefined',
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isArray',
  'isPlainObject',
  'isObject',
  'nestedValidation',
]);

/**
 * A field of the wrong type fails its range checks too (`?limit=abc` is "not an integer", and
 * class-validator's max and min also fail on a string): report only what is wrong with its type.
 */
function withoutConsequences(violations: FieldViolation[]): FieldViolation[] {
  const mistyped = new Set(violations.filter((v) => TYPE_CONSTRAINTS.has(v.constraint ?? '')).map((v) => v.path));
  if (mistyped.size === 0) return violations;
  // per mistyped field, its first type violation (`tasks: {}` is "must be an array", said once)
  const said = new Set<string>();
  return violations.filter((v) => {
    if (!mistyped.has(v.path)) return true;
    if (!TYPE_CONSTRAINTS.has(v.constraint ?? '') || said.has(v.path)) return false;
    said.add(v.path);
    return true;
  });
}

/**
 * Turns a parsed plain value into a validated DTO instance. Unknown fields, wrong types
 * and missing required fields all throw ValidationError with one violation per problem.
 * The rules are the class's class-validator decorators, applied by a validator compiled once
 * per class (see compiled-validator.ts).
 */
export function validatePlain<T extends object>(cls: Ctor<T>, plain: unknown, what = cls.name): T {
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
    throw new ValidationError(`${what}: expected a JSON object`, [
      { path: '(root)', message: 'expected a JSON object', constraint: 'isObject' },
    ]);
  }
  const found: FieldViolation[] = [];
  const instance = validateCompiled(cls, plain as Record<string, unknown>, found);
  if (found.length > 0) {
    const violations = withoutConsequences(found);
    const first = violations[0];
    throw new ValidationError(
      `${what}: ${violations.length} invalid field${violations.length === 1 ? '' : 's'}${first ? ` (${first.path}: ${first.message})` : ''}`,
      violations,
    );
  }
  return instance;
}

/** parseJson + validatePlain in one step. */
export function decode<T extends object>(cls: Ctor<T>, raw: Uint8Array | string, limits: DecodeLimits = {}): T {
  return validatePlain(cls, parseJson(raw, limits));
}
