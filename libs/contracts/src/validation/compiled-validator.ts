import { getMetadataStorage, type ValidationArguments } from 'class-validator';
import type { FieldViolation } from '../errors/errors';

/**
 * A validator compiled once per DTO class from its class-validator (and class-transformer
 * `@Type`) metadata. It applies exactly the same constraints as `validateSync` with
 * `whitelist` + `forbidNonWhitelisted` — the constraint functions are class-validator's own, or
 * for its simple built-ins the same test written out (`inlineTest`) — but it reads the metadata
 * once, writes each class's checks out as one generated function, builds no intermediate error
 * objects or paths unless something fails, and does not deep-copy free-form objects (`input`,
 * `result`). Every consumer validates every payload, so this is on every hot path: a batch of
 * 400 events validates in ~75–110 µs (the interpreted version before it: ~390 µs).
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
  /** `@ValidateNested()`: one object; `@ValidateNested({ each: true })`: an array (or record) of them. */
  nested: { target: () => Ctor | undefined; each: boolean } | null;
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
          each: m.each,
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

/** Where a violation is: the keys from the root (a shared stack), joined only when something fails. */
type PathStack = Array<string | number>;

function pathOf(stack: PathStack, property: string | number): string {
  return stack.length === 0 ? String(property) : `${stack.join('.')}.${property}`;
}

function fail(
  out: FieldViolation[],
  stack: PathStack,
  check: Check,
  object: object,
  targetName: string,
  property: string,
  value: unknown,
): void {
  const path = pathOf(stack, property);
  if (value === undefined) {
    // a required field is missing (optional ones skip their checks): say so once, not what its
    // value would have had to look like
    const last = out[out.length - 1];
    if (last?.path === path && last.constraint === 'isDefined') return;
    out.push({ path, constraint: 'isDefined', message: `${property} is required` });
    return;
  }
  out.push({
    path,
    constraint: check.type,
    message: messageOf(check, { targetName, property, object, value, constraints: check.constraints }),
  });
}

function unknownField(out: FieldViolation[], stack: PathStack, key: string): void {
  const path = pathOf(stack, key);
  out.push({ path, constraint: 'whitelistValidation', message: `unknown field "${path}"` });
}

function nestedError(out: FieldViolation[], stack: PathStack, property: string | number): void {
  out.push({
    path: pathOf(stack, property),
    constraint: 'nestedValidation',
    message: `${pathOf(stack, property)} must be a JSON object`,
  });
}

/** A compiled class: validates `plain`, appends violations (paths below `stack`) and returns the instance. */
type BuildFn = (plain: Record<string, unknown>, stack: PathStack, out: FieldViolation[]) => object;

const builds = new Map<ClassPlan, BuildFn>();

function buildOf(plan: ClassPlan): BuildFn {
  let fn = builds.get(plan);
  if (!fn) {
    fn = generate(plan);
    builds.set(plan, fn);
  }
  return fn;
}

function notAnObject(out: FieldViolation[], stack: PathStack, property: string): void {
  out.push({ path: pathOf(stack, property), constraint: 'nestedValidation', message: `${pathOf(stack, property)} must be a JSON object` });
}

/**
 * Validates a nested value with its class's compiled build: one object, or with `each` an array
 * of objects. Unlike class-validator, an array where one object is declared is refused (its
 * `@ValidateNested()` would validate the elements, so `"retry": []` passed as "no retry settings"),
 * and so is an object where an array is (it would validate the object as one element).
 */
function nested(
  target: Ctor | undefined,
  value: unknown,
  stack: PathStack,
  property: string,
  out: FieldViolation[],
  each: boolean,
): unknown {
  if (!each) {
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && target) {
      stack.push(property);
      const instance = buildOf(compile(target))(value as Record<string, unknown>, stack, out);
      stack.pop();
      return instance;
    }
    notAnObject(out, stack, property);
    return value;
  }
  if (Array.isArray(value)) {
    const arr: unknown[] = new Array(value.length);
    const build = target ? buildOf(compile(target)) : null;
    stack.push(property);
    for (let i = 0; i < value.length; i++) {
      const el: unknown = value[i];
      if (build && typeof el === 'object' && el !== null && !Array.isArray(el)) {
        stack.push(i);
        arr[i] = build(el as Record<string, unknown>, stack, out);
        stack.pop();
      } else {
        nestedError(out, stack, i);
        arr[i] = el;
      }
    }
    stack.pop();
    return arr;
  }
  // `each` declares a list: an object is not one (class-validator would validate it as an element)
  out.push({
    path: pathOf(stack, property),
    constraint: 'nestedValidation',
    message: `${pathOf(stack, property)} must be an array of objects`,
  });
  return value;
}

/** validator's `isUUID(s)` without a version ('all': versions 1–8, nil and max). */
export const ANY_UUID =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/i;

/** Every element passes (class-validator's `each: true` on an array value). */
function everyElement(check: Check, args: ValidationArguments, value: unknown[]): boolean {
  for (const el of value) if (!check.instance.validate(el, args)) return false;
  return true;
}

/**
 * The test of one check as a JavaScript expression over `v`, written out for class-validator's
 * simple built-in constraints (same verdict as their functions: see node_modules/class-validator
 * and compiled-validator.spec) so the hot path makes no call and builds no arguments object.
 * `null` means: call the constraint's own `validate`.
 */
function inlineTest(check: Check, ref: (x: unknown) => string): string | null {
  if (check.each) return null;
  const c0: unknown = check.constraints?.[0];
  const c1: unknown = check.constraints?.[1];
  const num = (x: unknown): string | null => (typeof x === 'number' && Number.isFinite(x) ? String(x) : null);
  switch (check.type) {
    case 'isString':
      return `(typeof v === 'string' || v instanceof String)`;
    case 'isBoolean':
      return `(typeof v === 'boolean' || v instanceof Boolean)`;
    case 'isInt':
      return `(typeof v === 'number' && Number.isInteger(v))`;
    case 'isDefined':
      return `(v !== undefined && v !== null)`;
    case 'isArray':
      return `Array.isArray(v)`;
    case 'isPlainObject':
      return `(typeof v === 'object' && v !== null && !Array.isArray(v))`;
    case 'min':
      return num(c0) === null ? null : `(typeof v === 'number' && v >= ${num(c0)})`;
    case 'max':
      return num(c0) === null ? null : `(typeof v === 'number' && v <= ${num(c0)})`;
    case 'arrayMinSize':
      return num(c0) === null ? null : `(Array.isArray(v) && v.length >= ${num(c0)})`;
    case 'arrayMaxSize':
      return num(c0) === null ? null : `(Array.isArray(v) && v.length <= ${num(c0)})`;
    case 'isIn':
      if (!Array.isArray(c0) || c0.length === 0 || !c0.every((x) => typeof x === 'string' || num(x) !== null)) return null;
      return `(${c0.map((x) => `v === ${JSON.stringify(x)}`).join(' || ')})`;
    case 'matches':
      // validator's `!!str.match(re)` is `re.test(str)` for an expression without the g and y flags
      if (!(c0 instanceof RegExp) || c0.global || c0.sticky || c1 !== undefined) return null;
      return `(typeof v === 'string' && ${ref(c0)}.test(v))`;
    case 'isUUID':
      return c0 === undefined || c0 === null ? `(typeof v === 'string' && ${ref(ANY_UUID)}.test(v))` : null;
    default:
      return null;
  }
}

/**
 * The written-out test of a constraint as a function (for tests: it must give the constraint
 * function's verdict); `null` when the constraint is not written out.
 */
export function inlinePredicate(type: string, constraints: unknown[]): ((v: unknown) => boolean) | null {
  const refs: unknown[] = [];
  const check = { type, each: false, constraints, instance: { validate: () => false }, message: undefined };
  const expr = inlineTest(check, (x) => {
    refs.push(x);
    return `r[${refs.length - 1}]`;
  });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return expr === null ? null : (new Function('r', `return (v) => ${expr};`) as (r: unknown[]) => (v: unknown) => boolean)(refs);
}

/**
 * Writes a class's checks out as one function (`new Function`): fixed property reads, no loops
 * over rules, no argument objects on the success path. It applies exactly what the rules say —
 * the constraint functions are class-validator's own unless `inlineTest` writes them out.
 */
function generate(plan: ClassPlan): BuildFn {
  const refs: unknown[] = [];
  const ref = (x: unknown): string => {
    refs.push(x);
    return `r[${refs.length - 1}]`;
  };
  const proto = ref(plan.cls.prototype);
  const known = ref(plan.known);
  const targetName = JSON.stringify(plan.cls.name);
  const lines: string[] = [
    `const inst = Object.create(${proto});`,
    `const keys = Object.keys(plain);`,
    `for (let i = 0; i < keys.length; i++) { const k = keys[i]; if (${known}.has(k)) inst[k] = plain[k]; else unknownField(out, stack, k); }`,
  ];
  for (const rule of plan.rules) {
    const name = JSON.stringify(rule.name);
    lines.push(`{ let v = plain[${name}];`);
    if (rule.transforms.length > 0) {
      for (const t of rule.transforms)
        lines.push(`v = ${ref(t)}({ value: v, key: ${name}, obj: plain, type: ${PLAIN_TO_CLASS}, options: {} });`);
      lines.push(`if (v !== undefined || ${name} in plain) inst[${name}] = v;`);
    }
    const body: string[] = [];
    for (const check of [...rule.defined, ...rule.checks]) {
      const c = ref(check);
      const inline = inlineTest(check, ref);
      let test: string;
      if (inline !== null) test = inline;
      else {
        const args = ref({
          targetName: plan.cls.name,
          property: rule.name,
          object: null,
          value: undefined,
          constraints: check.constraints,
        });
        const call = check.each
          ? `(Array.isArray(v) ? everyElement(${c}, ${args}, v) : ${c}.instance.validate(v, ${args}) === true)`
          : `${c}.instance.validate(v, ${args}) === true`;
        test = `(${args}.object = plain, ${args}.value = v, ok = ${call}, ${args}.object = null, ${args}.value = undefined, ok)`;
      }
      body.push(`if (!${test}) fail(out, stack, ${c}, plain, ${targetName}, ${name}, v);`);
    }
    if (rule.nested) {
      body.push(`if (v !== undefined) inst[${name}] = nested(${ref(rule.nested)}.target(), v, stack, ${name}, out, ${rule.nested.each});`);
    }
    if (rule.conditions.length > 0) {
      const conds = rule.conditions.map((cond) => `${ref(cond)}(plain, v)`);
      lines.push(`if (${conds.join(' && ')}) {`, ...body, `}`);
    } else lines.push(...body);
    lines.push(`}`);
  }
  lines.push(`return inst;`);
  const source = `"use strict";\nreturn function build${plan.cls.name.replace(/\W/g, '')}(plain, stack, out) {\nlet ok;\n${lines.join('\n')}\n};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function('r', 'fail', 'unknownField', 'nested', 'everyElement', source) as (
    r: unknown[],
    f: typeof fail,
    u: typeof unknownField,
    n: typeof nested,
    e: typeof everyElement,
  ) => BuildFn;
  return factory(refs, fail, unknownField, nested, everyElement);
}

/**
 * Validates a parsed JSON object against a DTO class and returns an instance of it (nested
 * DTOs become instances too). Violations are appended to `out`; the caller decides what to throw.
 */
export function validateCompiled<T extends object>(cls: new () => T, plain: Record<string, unknown>, out: FieldViolation[]): T {
  return buildOf(compile(cls))(plain, [], out) as T;
}
