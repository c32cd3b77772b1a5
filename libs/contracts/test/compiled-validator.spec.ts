import { isISO8601, type ValidationArguments } from 'class-validator';
import { isRealCanonicalDay, withCanonicalIsoFastPath } from '../src/validation/compiled-validator';

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
