import {
  DEFAULT_FORBIDDEN_PATTERNS,
  DEFAULT_VALIDATION_RETRIES,
  SwarmError,
  type ValidationFailurePolicy,
  type ValidationSpecDto,
} from '@swarm-mesh/contracts';
import Ajv, { type ValidateFunction } from 'ajv';

/** One check a result failed. */
export interface ValidationFailure {
  check: 'jsonSchema' | 'requiredFields' | 'nonEmpty' | 'minSize' | 'forbiddenPatterns';
  path: string;
  message: string;
}

export interface ValidationReport {
  passed: boolean;
  failures: ValidationFailure[];
}

/** A task's checks, normalised (what `tasks.options.validation` stores). */
export interface ValidationSpec {
  jsonSchema?: Record<string, unknown>;
  requiredFields?: string[];
  nonEmpty?: string[];
  minSize?: number;
  forbiddenPatterns: string[];
  onFailure: ValidationFailurePolicy;
  maxValidationRetries: number;
}

/** Most failures reported for one result (the rest are counted). */
const MAX_FAILURES = 20;
/** Strings longer than this are scanned only up to it (placeholders show early). */
const SCAN_LIMIT = 64 * 1024;

const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: true });
/** Compiled schemas by their JSON text: each distinct schema is compiled once. */
const schemas = new Map<string, ValidateFunction>();
/** Compiled pattern lists by their JSON text. */
const patternSets = new Map<string, Array<{ source: string; re: RegExp }>>();
const MAX_CACHED = 1000;

function remember<T>(cache: Map<string, T>, key: string, value: T): T {
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
  return value;
}

function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  const hit = schemas.get(key);
  if (hit) return hit;
  return remember(schemas, key, ajv.compile(schema));
}

/** `/source/flags` literal or a plain (case-sensitive) source. */
function compilePattern(p: string): RegExp {
  const lit = /^\/(.+)\/([dgimsuy]*)$/s.exec(p);
  const flags = (lit ? lit[2]! : '').replace(/[gy]/g, '');
  return new RegExp(lit ? lit[1]! : p, flags);
}

function compilePatterns(list: readonly string[]): Array<{ source: string; re: RegExp }> {
  const key = JSON.stringify(list);
  const hit = patternSets.get(key);
  if (hit) return hit;
  return remember(
    patternSets,
    key,
    list.map((source) => ({ source, re: compilePattern(source) })),
  );
}

/**
 * Normalises a submitted spec, compiling its schema and patterns once (a bad one is rejected
 * here, at submit, with VALIDATION_FAILED naming it).
 */
export function normalizeValidation(dto: ValidationSpecDto, path = 'validation'): ValidationSpec {
  if (dto.jsonSchema !== undefined) {
    try {
      compileSchema(dto.jsonSchema);
    } catch (err) {
      throw new SwarmError('VALIDATION_FAILED', `${path}.jsonSchema is not a valid JSON Schema: ${(err as Error).message}`, {
        violations: [{ path: `${path}.jsonSchema`, message: (err as Error).message, constraint: 'jsonSchema' }],
      });
    }
  }
  const patterns = dto.forbiddenPatterns ?? [...DEFAULT_FORBIDDEN_PATTERNS];
  patterns.forEach((p, i) => {
    try {
      compilePattern(p);
    } catch (err) {
      throw new SwarmError(
        'VALIDATION_FAILED',
        `${path}.forbiddenPatterns.${i} is not a valid regular expression: ${(err as Error).message}`,
        {
          violations: [{ path: `${path}.forbiddenPatterns.${i}`, message: (err as Error).message, constraint: 'regex' }],
        },
      );
    }
  });
  return {
    ...(dto.jsonSchema !== undefined ? { jsonSchema: dto.jsonSchema } : {}),
    ...(dto.requiredFields?.length ? { requiredFields: [...dto.requiredFields] } : {}),
    ...(dto.nonEmpty?.length ? { nonEmpty: [...dto.nonEmpty] } : {}),
    ...(dto.minSize !== undefined ? { minSize: dto.minSize } : {}),
    forbiddenPatterns: patterns,
    onFailure: dto.onFailure ?? 'needs_review',
    maxValidationRetries: dto.maxValidationRetries ?? DEFAULT_VALIDATION_RETRIES,
  };
}

function valueAt(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const seg of path.split('.')) {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur)) cur = /^\d+$/.test(seg) ? cur[Number(seg)] : undefined;
    else if (typeof cur === 'object')
      cur = Object.prototype.hasOwnProperty.call(cur, seg) ? (cur as Record<string, unknown>)[seg] : undefined;
    else return undefined;
  }
  return cur;
}

/** Non-empty: a string with a non-blank character, an array with an element, an object with a key; numbers and booleans count. */
export function isNonEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'string') return v.trim().length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** Visits every string in a JSON value with its path (keys included: a placeholder may hide in a key). */
function eachString(value: unknown, visit: (s: string, path: string) => boolean): void {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (!visit(v.length > SCAN_LIMIT ? v.slice(0, SCAN_LIMIT) : v, path)) return;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], path ? `${path}.${i}` : String(i)]);
    } else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        stack.push([(v as Record<string, unknown>)[k], path ? `${path}.${k}` : k]);
      }
    }
  }
}

/**
 * Runs a task's checks on a result. Synchronous and cheap: schemas and patterns are compiled
 * once per distinct spec; strings are scanned up to 64 KiB each.
 */
export function validateResult(spec: ValidationSpec, result: Record<string, unknown>, sizeBytes?: number): ValidationReport {
  const failures: ValidationFailure[] = [];
  const add = (f: ValidationFailure): boolean => {
    failures.push(f);
    return failures.length < MAX_FAILURES;
  };
  if (spec.minSize !== undefined) {
    const size = sizeBytes ?? Buffer.byteLength(JSON.stringify(result));
    if (size < spec.minSize)
      add({ check: 'minSize', path: '', message: `result is ${size} bytes of JSON; at least ${spec.minSize} expected` });
  }
  for (const f of spec.requiredFields ?? []) {
    const v = valueAt(result, f);
    if (v === undefined || v === null) add({ check: 'requiredFields', path: f, message: `required field ${f} is missing` });
  }
  for (const f of spec.nonEmpty ?? []) {
    if (!isNonEmpty(valueAt(result, f))) add({ check: 'nonEmpty', path: f, message: `field ${f} is empty` });
  }
  if (spec.jsonSchema !== undefined) {
    const validate = compileSchema(spec.jsonSchema);
    if (!validate(result)) {
      for (const e of validate.errors ?? []) {
        const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
        if (!add({ check: 'jsonSchema', path, message: `${path || 'result'} ${e.message ?? 'is invalid'}` })) break;
      }
    }
  }
  if (spec.forbiddenPatterns.length > 0 && failures.length < MAX_FAILURES) {
    const patterns = compilePatterns(spec.forbiddenPatterns);
    eachString(result, (s, path) => {
      for (const p of patterns) {
        const m = p.re.exec(s);
        if (m) {
          return add({
            check: 'forbiddenPatterns',
            path,
            message: `${path || 'result'} contains placeholder text "${m[0].slice(0, 60)}" (pattern ${p.source})`,
          });
        }
      }
      return true;
    });
  }
  return { passed: failures.length === 0, failures };
}

/** One line summing up a failed report (the attempt's error message). */
export function summarize(report: ValidationReport): string {
  const first = report.failures.slice(0, 3).map((f) => f.message);
  const more = report.failures.length > 3 ? ` (+${report.failures.length - 3} more)` : '';
  return `result failed ${report.failures.length} validation check${report.failures.length === 1 ? '' : 's'}: ${first.join('; ')}${more}`;
}
