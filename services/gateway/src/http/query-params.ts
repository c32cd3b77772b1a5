import { Transform, type TransformFnParams } from 'class-transformer';

/**
 * Query strings arrive as strings: these transforms convert them explicitly before validation
 * (no implicit conversion anywhere). A value that does not convert is left as is, so the
 * validator rejects it with VALIDATION_FAILED instead of it silently becoming NaN or true.
 */
export function QueryInt(): PropertyDecorator {
  return Transform(({ value }: TransformFnParams): unknown =>
    typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value,
  );
}

/** `true`/`false` (also `1`/`0`). */
export function QueryBool(): PropertyDecorator {
  return Transform(({ value }: TransformFnParams): unknown => {
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    return value;
  });
}
