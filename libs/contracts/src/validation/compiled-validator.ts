import { getMetadataStorage, type ValidationArguments } from 'class-validator';
import type { FieldViolation } from '../errors/errors';

/**
 * A validator compiled once per DTO class from its class-validator (and class-transformer
 * `@Type`) metadata. It applies exactly the same constraints as `validateSync` with
 * `whitelist` + `forbidNonWhitelisted` — the constraint functions themselves are class-validator's —
 * but it looks the metadata up once instead of on every call, builds no intermediate error
 * objects, and does not deep-copy free-form objects (`input`, `result`). On the hot path this
 * cuts validation cost several times over.
 */

type Ctor = new () => object;

interface TransformParams {
  value: unknown;
  key: string;
  obj: unknown;
  type: number;
  options: Record<string, unknown>;
}

interface TypeStorage {
  findTypeMetadata(target: Function, propertyName: string): { typeFunction: (options?: unknown) => Function } | undefined;
  findTransformMetadatas(
    target: Function,
    propertyName: string,
    transformationType: number,
  ): Array<{ transformFn: (p: TransformParams) => unknown }>;
}

/** class-transformer's TransformationType.PLAIN_TO_CLASS. */
const PLAIN_TO_CLASS = 0;
// class-transformer keeps its @Type() metadata in an internal storage object it does not re-export
// eslint-disable-next-line @typescript-eslint/no-require-imports
const typeStorage = (require('class-transformer/cjs/storage') as { defaultMetadataStorage: TypeStorage }).defaultMetadataStorage;

interface ValidationMetadataLike {
  type: string;
  name?: string;
  propertyName: string;
  constraints: unknown[];
  constraintCls: Function;
  each: boolean;
  message?: string | ((args: ValidationArguments) => string);
}

export interface ConstraintInstance {
  validate(value: unknown, args: ValidationArguments): boolean | Promise<boolean>;
  defaultMessage?(args: ValidationArguments): string;
}

interface Check {
  type: string;
  each: boolean;
  constraints: unknown[];
  instance: ConstraintInstance;
  message: string | ((args: ValidationArguments) => string) | undefined;
}

interface PropertyRule {
  name: string;
  /** class-transformer `@Transform`s applied before validation (e.g. query-string numbers). */
  transforms: Array<(p: TransformParams) => unknown>;
  conditions: Array<(object: unknown, value: unknown) => boolean>;
  defined: Check[];
  checks: Check[];
  nested: { target: () => Ctor | undefined } | null;
}

interface ClassPlan {
  cls: Ctor;
  known: Set<string>;
  rules: PropertyRule[];
}

const plans = new Map<Function, ClassPlan>();

function constraintToString(c: unknown): string {
  if (Array.isArray(c)) return c.join(', ');
  if (typeof c === 'symbol') return c.description ?? '';
  return String(c);
}

function messageOf(check: Check, args: ValidationArguments): string {
  let msg: string | undefined;
  if (typeof check.message === 'function') msg = check.message(args);
  else if (typeof check.message === 'string') msg = check.message;
  else msg = check.instance.defaultMessage?.(args) ?? '';
  if (Array.isArray(args.constraints)) {
    args.constraints.forEach((c: unknown, i: number) => {
      msg = msg!.replace(new RegExp(`\\$constraint${i + 1}`, 'g'), constraintToString(c));
    });
  }
  const v: unknown = args.value;
  if (v !== undefined && v !== null && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))
    msg = msg.replace(/\$value/g, String(v));
  return msg.replace(/\$property/g, args.property).replace(/\$target/g, args.targetName);
}

function compile(cls: Ctor): ClassPlan {
  const existing = plans.get(cls);
  if (existing) return existing;
  const storage = getMetadataStorage();
  const metas = storage.getTargetValidationMetadatas(cls, '', true, false) as unknown as ValidationMetadataLike[];
  const plan: ClassPlan = { cls, known: new Set(), rules: [] };
  plans.set(cls, plan); // before recursing: self-referencing DTOs
  const byProperty = new Map<string, PropertyRule>();
  for (const m of metas) {
    plan.known.add(m.propertyName);
    let rule = byProperty.get(m.propertyName);
    if (!rule) {
      rule = {
        name: m.propertyName,
        transforms: typeStorage.findTransformMetadatas(cls, m.propertyName, PLAIN_TO_CLASS).map((t) => t.transformFn),
        conditions: [],
        defined: [],
        checks: [],
        nested: null,
      };
      byProperty.set(m.propertyName, rule);
    }
    switch (m.type) {
      case 'conditionalValidation':
        rule.conditions.push(m.constraints[0] as (o: unknown, v: unknown) => boolean);
        break;
      case 'nestedValidation': {
        const prop = m.propertyName;
        let resolved: Ctor | undefined | null = null;
        rule.nested = {
          target: () => {
            if (resolved === null) resolved = typeStorage.findTypeMetadata(cls, prop)?.typeFunction() as Ctor | undefined;
            return resolved;
          },
        };
        break;
      }
      case 'whitelistValidation':
        break;
      case 'customValidation':
      case 'isDefined': {
        const constraints = storage.getTargetValidatorConstraints(m.constraintCls) as unknown as Array<{
          name: string;
          instance: ConstraintInstance;
          async: boolean;
        }>;
        for (const c of constraints) {
          if (c.async) throw new Error(`${cls.name}.${m.propertyName}: async validators are not supported`);
          const type = c.name || m.type;
          const check: Check = {
            type,
            each: m.each,
            constraints: m.constraints,
            instance: type === 'isIso8601' ? withCanonicalIsoFastPath(c.instance, m.constraints[0]) : c.instance,
            message: m.message,
          };
          (m.type === 'isDefined' ? rule.defined : rule.checks).push(check);
        }
        break;
      }
      default:
        throw new Error(`${cls.name}.${m.propertyName}: unsupported validation type "${m.type}"`);
    }
  }
  plan.rules = [...byProperty.values()];
  return plan;
}

/**
 * `Date.prototype.toISOString()`'s form, the one every mesh timestamp has, in years 1000–9999
 * (validator's strict check misreads years below 1000: those take the original path).
 */
const CANONICAL_ISO = /^[1-9]\d{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether a canonical ISO timestamp names a real day (validator's `strict` check, done with
 * arithmetic instead of a Date round trip).
 */
export function isRealCanonicalDay(v: string): boolean {
  const year = +v.slice(0, 4);
  const month = +v.slice(5, 7);
  const day = +v.slice(8, 10);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

/**
 * `@IsISO8601` runs validator's general ISO 8601 expression on every event and envelope; a
 * timestamp in the canonical form is answered by a much simpler expression with the same verdict
 * (test: compiled-validator.spec), anything else goes to the original check.
 */
export function withCanonicalIsoFastPath(slow: ConstraintInstance, options: unknown): ConstraintInstance {
  const strict = typeof options === 'object' && options !== null && (options as { strict?: unknown }).strict === true;
  return {
    validate: (value, args) =>
      typeof value === 'string' && CANONICAL_ISO.test(value)
        ? !strict || isRealCanonicalDay(value) || slow.validate(value, args)
        : slow.validate(value, args),
    ...(slow.defaultMessage ? { defaultMessage: (args: ValidationArguments) => slow.defaultMessage!.call(slow, args) } : {}),
  };
}

function runCheck(check: Check, object: object, targetName: string, property: string, value: unknown): boolean {
  const args: ValidationArguments = { targetName, property, object, value, constraints: check.constraints };
  if (check.each && Array.isArray(value)) {
    for (const el of value) if (!check.instance.validate(el, args)) return false;
    return true;
  }
  return check.instance.validate(value, args) === true;
}

function fail(
  out: FieldViolation[],
  path: string,
  check: Check,
  object: object,
  targetName: string,
  property: string,
  value: unknown,
): void {
  out.push({
    path,
    constraint: check.type,
    message: messageOf(check, { targetName, property, object, value, constraints: check.constraints }),
  });
}

function build(plan: ClassPlan, plain: Record<string, unknown>, prefix: string, out: FieldViolation[]): object {
  const instance = Object.create(plan.cls.prototype as object) as Record<string, unknown>;
  const targetName = plan.cls.name;
  for (const key of Object.keys(plain)) {
    if (!plan.known.has(key)) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.push({ path, constraint: 'whitelistValidation', message: `unknown field "${path}"` });
      continue;
    }
    instance[key] = plain[key];
  }
  for (const rule of plan.rules) {
    let value = plain[rule.name];
    if (rule.transforms.length > 0) {
      for (const fn of rule.transforms) value = fn({ value, key: rule.name, obj: plain, type: PLAIN_TO_CLASS, options: {} });
      if (value !== undefined || rule.name in plain) instance[rule.name] = value;
    }
    let skip = false;
    for (const cond of rule.conditions) if (!cond(plain, value)) skip = true;
    if (skip) continue;
    const path = prefix ? `${prefix}.${rule.name}` : rule.name;
    for (const d of rule.defined)
      if (!runCheck(d, plain, targetName, rule.name, value)) fail(out, path, d, plain, targetName, rule.name, value);
    for (const c of rule.checks)
      if (!runCheck(c, plain, targetName, rule.name, value)) fail(out, path, c, plain, targetName, rule.name, value);
    if (rule.nested && value !== undefined) {
      const target = rule.nested.target();
      const nestedError = (p: string, property: string): void => {
        out.push({ path: p, constraint: 'nestedValidation', message: `nested property ${property} must be either object or array` });
      };
      if (Array.isArray(value)) {
        const arr: unknown[] = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          const el: unknown = value[i];
          const elPath = `${path}.${i}`;
          if (typeof el === 'object' && el !== null && !Array.isArray(el) && target)
            arr[i] = build(compile(target), el as Record<string, unknown>, elPath, out);
          else {
            nestedError(elPath, String(i));
            arr[i] = el;
          }
        }
        instance[rule.name] = arr;
      } else if (typeof value === 'object' && value !== null && target) {
        instance[rule.name] = build(compile(target), value as Record<string, unknown>, path, out);
      } else {
        nestedError(path, rule.name);
      }
    }
  }
  return instance;
}

/**
 * Validates a parsed JSON object against a DTO class and returns an instance of it (nested
 * DTOs become instances too). Violations are appended to `out`; the caller decides what to throw.
 */
export function validateCompiled<T extends object>(cls: new () => T, plain: Record<string, unknown>, out: FieldViolation[]): T {
  return build(compile(cls), plain, '', out) as T;
}
