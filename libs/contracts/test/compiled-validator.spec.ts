import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import * as cv from 'class-validator';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  isISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
  type ValidationArguments,
} from 'class-validator';
import fc from 'fast-check';
import { type FieldViolation, ValidationError } from '../src/errors/errors';
import { inlinePredicate, isRealCanonicalDay, withCanonicalIsoFastPath } from '../src/validation/compiled-validator';
import { validatePlain } from '../src/validation/decode';

const ARGS = { targetName: 'T', property: 'ts', object: {}, value: undefined, constraints: [] } as unknown as ValidationArguments;

describe('the canonical ISO timestamp fast path of @IsISO8601', () => {
  const years = ['0000', '0004', '0999', '1000', '1900', '2000', '2023', '2024', '2100', '9999'];
  const months = Array.from({ length: 14 }, (_, i) => String(i).padStart(2, '0')); // 00 … 13
  const days = Array.from({ length: 33 }, (_, i) => String(i).padStart(2, '0')); // 00 … 32
  const times = ['00:00:00.000', '23:59:59.999', '24:00:00.000', '12:60:00.000', '12:00:60.000'];
  const samples: string[] = [];
  for (const y of years) for (const m of months) for (const d of days) for (const t of times) samples.push(`${y}-${m}-${d}T${t}Z`);
  // not canonical: the original check decides
  samples.push(
    '2026-12-07',
    '2026-12-07T10:00:00Z',
    '2026-12-07T10:00:00.000+01:00',
    '2026-12-07 10:00:00.000Z',
    'x',
    '',
    '2026-02-29T00:00:00Z',
  );

  it.each([
    ['non-strict', undefined],
    ['strict', { strict: true }],
  ])('gives validator’s verdict (%s) for %#', (_name, options) => {
    let slowCalls = 0;
    const canonicalValid = samples.filter((s) => /^[1-9]\d{3}-\d\d-\d\dT.*\.\d{3}Z$/.test(s) && isISO8601(s, options)).length;
    expect(canonicalValid).toBeGreaterThan(1000);
    const fast = withCanonicalIsoFastPath(
      {
        validate: (v) => {
          slowCalls++;
          return typeof v === 'string' && isISO8601(v, options);
        },
      },
      options,
    );
    const disagree = samples.filter((s) => fast.validate(s, ARGS) !== isISO8601(s, options));
    expect(disagree).toEqual([]);
    // the valid canonical ones never reach the slow check
    expect(slowCalls).toBe(samples.length - canonicalValid);
    expect(fast.validate(42, ARGS)).toBe(false);
  });

  it('knows leap years', () => {
    expect(isRealCanonicalDay('2024-02-29T00:00:00.000Z')).toBe(true);
    expect(isRealCanonicalDay('2023-02-29T00:00:00.000Z')).toBe(false);
    expect(isRealCanonicalDay('1900-02-29T00:00:00.000Z')).toBe(false);
    expect(isRealCanonicalDay('2000-02-29T00:00:00.000Z')).toBe(true);
    expect(isRealCanonicalDay('2026-04-31T00:00:00.000Z')).toBe(false);
  });
});

describe('constraints written out by the compiled validator', () => {
  const samples: unknown[] = [
    ...['', 'a', 'abc', 'ABC', 'A', 'B', '3', ' a', 'a\n', 'HIGH', '😀', new String('a'), new String('')],
    ...[0, -0, 1, -1, 2, 3, 1.5, 99.999, 100, 100.5, 2 ** 53, -(2 ** 53), NaN, Infinity, -Infinity, new Number(1)],
    ...[true, false, new Boolean(true), null, undefined, [], [1], [1, 2], [1, 2, 3], {}, { a: 1 }, () => 1],
    ...[
      '123e4567-e89b-12d3-a456-426614174000',
      '123E4567-E89B-42D3-A456-426614174000',
      '123e4567-e89b-82d3-a456-426614174000',
      '123e4567-e89b-92d3-a456-426614174000',
      '123e4567-e89b-42d3-c456-426614174000',
      '123e4567e89b42d3a456426614174000',
      '00000000-0000-0000-0000-000000000000',
      'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
      ' 123e4567-e89b-12d3-a456-426614174000',
    ],
  ];
  const cases: Array<[string, unknown[], (v: unknown) => boolean]> = [
    ['isString', [], (v) => cv.isString(v)],
    ['isBoolean', [], (v) => cv.isBoolean(v)],
    ['isInt', [], (v) => cv.isInt(v)],
    ['isDefined', [], (v) => cv.isDefined(v)],
    ['isArray', [], (v) => cv.isArray(v)],
    ['isPlainObject', [], (v) => typeof v === 'object' && v !== null && !Array.isArray(v)],
    ['min', [0], (v) => cv.min(v, 0)],
    ['min', [1.5], (v) => cv.min(v, 1.5)],
    ['max', [100], (v) => cv.max(v, 100)],
    ['arrayMinSize', [1], (v) => cv.arrayMinSize(v, 1)],
    ['arrayMaxSize', [2], (v) => cv.arrayMaxSize(v, 2)],
    ['isIn', [['A', 'B', 3, 'HIGH']], (v) => cv.isIn(v, ['A', 'B', 3, 'HIGH'])],
    ['matches', [/^[a-z]+$/], (v) => cv.matches(v as string, /^[a-z]+$/)],
    ['matches', [/^a/i], (v) => cv.matches(v as string, /^a/i)],
    ['isUUID', [], (v) => cv.isUUID(v)],
  ];
  it.each(cases.map(([t, c, f], i) => [`${t}(${c.map(String).join(', ')}) #${i}`, t, c, f] as const))(
    '%s gives class-validator’s verdict',
    (_name, type, constraints, reference) => {
      const inline = inlinePredicate(type, constraints);
      expect(inline).not.toBeNull();
      const disagree = samples.filter((v) => inline!(v) !== reference(v)).map((v) => String(v));
      expect(disagree).toEqual([]);
    },
  );

  it('leaves what it cannot write out to the constraint itself', () => {
    expect(inlinePredicate('matches', [/a/g])).toBeNull();
    expect(inlinePredicate('matches', ['^a$', 'i'])).toBeNull();
    expect(inlinePredicate('isUUID', ['4'])).toBeNull();
    expect(inlinePredicate('min', ['3'])).toBeNull();
    expect(inlinePredicate('isIn', [[{}]])).toBeNull();
    expect(inlinePredicate('isLength', [1, 10])).toBeNull();
  });
});

class Sample {
  @IsString() @Length(1, 5) name!: string;
  @IsOptional() @IsInt() @Min(1) @Max(10) n?: number;
  @IsOptional() @IsIn(['A', 'B']) kind?: string;
  @IsOptional() @IsUUID() id?: string;
  @IsOptional() @Matches(/^[a-z]+$/) word?: string;
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(2) @IsString({ each: true }) tags?: string[];
  @IsOptional() @IsBoolean() flag?: boolean;
  @IsOptional() @ValidateNested({ each: true }) @Type(() => Sample) children?: Sample[];
}

describe('validatePlain agrees with class-validator’s validateSync (whitelist, forbidNonWhitelisted)', () => {
  /** The failing top-level properties, as class-validator reports them. */
  const reference = (plain: Record<string, unknown>): string[] =>
    cv
      .validateSync(plainToInstance(Sample, plain), { whitelist: true, forbidNonWhitelisted: true })
      .map((e) => e.property)
      .sort();
  const ours = (plain: Record<string, unknown>): string[] => {
    try {
      validatePlain(Sample, plain);
      return [];
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const violations = (err.details as { violations: FieldViolation[] }).violations;
      return [...new Set(violations.map((v) => v.path.split('.')[0]!))].sort();
    }
  };
  const value = fc.oneof(
    fc.constantFrom<unknown>('a', 'abcdef', '', 'A', 'B', 'C', 5, 0, 11, 2.5, true, null, [], ['x'], ['x', 'y', 'z'], [1], {}),
    fc.constantFrom('123e4567-e89b-12d3-a456-426614174000', '123e4567-e89b-92d3-a456-426614174000', 'abc', 'ABC'),
  );
  const child = fc.dictionary(fc.constantFrom('name', 'n', 'kind', 'id', 'word', 'tags', 'flag', 'other'), value, { maxKeys: 4 });
  const body = fc.record(
    {
      name: value,
      n: value,
      kind: value,
      id: value,
      word: value,
      tags: value,
      flag: value,
      children: fc.oneof(fc.array(child, { maxLength: 2 }), value),
      other: value,
    },
    { requiredKeys: [] },
  );

  it('reports the same failing properties for 2,000 generated bodies', () => {
    fc.assert(
      fc.property(body, (b) => {
        expect(ours(b)).toEqual(reference(b));
      }),
      { numRuns: 2000 },
    );
  });
});
