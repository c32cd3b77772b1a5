/** What `pgArray` accepts per element: JSON goes in as text (serialise it first). */
export type PgArrayElement = string | number | boolean | null | undefined;

/**
 * A Postgres array literal (`{…}`) of `values`, to pass as ONE text parameter cast to an array
 * type (`$1::uuid[]`, `$2::jsonb[]`, …) and read with `unnest(…)`. The same literal node-postgres
 * builds from a JS array, for about a quarter less CPU (measured on rows of the coordinator's tick):
 * numbers and booleans go unquoted, strings are quoted with `\` and `"` escaped (skipped when a
 * string has neither), null and undefined become NULL. Numbers must be finite.
 */
export function pgArray(values: readonly PgArrayElement[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v === 'string') {
      let s = v;
      if (s.indexOf('\\') >= 0) s = s.replaceAll('\\', '\\\\');
      if (s.indexOf('"') >= 0) s = s.replaceAll('"', '\\"');
      out += `"${s}"`;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new RangeError(`pgArray: ${v} is not a finite number`);
      out += String(v);
    } else out += v ? 't' : 'f';
  }
  return `${out}}`;
}
