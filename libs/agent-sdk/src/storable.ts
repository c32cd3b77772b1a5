/**
 * Strings Postgres cannot store: `text` and `jsonb` refuse U+0000, `jsonb` an unpaired UTF-16
 * surrogate. The mesh refuses messages carrying them (VALIDATION_FAILED), so the SDK keeps them
 * out of what it sends: error messages and progress text are repaired (U+FFFD), a result that
 * holds them fails its attempt with INVALID_RESULT.
 */

/** `String.prototype.toWellFormed` (Node 20; its type is in TypeScript's ES2024 lib). */
type WellFormed = string & { toWellFormed(): string };

/** The text with U+0000 and unpaired surrogates replaced by U+FFFD. */
export function storableText(s: string): string {
  const noNul = s.includes('\u0000') ? s.replaceAll('\u0000', '\ufffd') : s;
  return (noNul as WellFormed).toWellFormed();
}

/**
 * In JSON text from `JSON.stringify`: a `\u0000` escape, or the escape of a lone surrogate
 * (well-formed pairs are written as the characters themselves), not preceded by an escaping
 * backslash.
 */
const UNSTORABLE_ESCAPE = /(?<=(?:^|[^\\])(?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi;

/** Whether JSON text (from `JSON.stringify`) holds a string Postgres cannot store. */
export function hasUnstorableJson(json: string): boolean {
  UNSTORABLE_ESCAPE.lastIndex = 0;
  return UNSTORABLE_ESCAPE.test(json);
}

/** JSON text (from `JSON.stringify`) with every unstorable string escape replaced by `\ufffd`. */
export function storableJson(json: string): string {
  return json.replace(UNSTORABLE_ESCAPE, '\\ufffd');
}
