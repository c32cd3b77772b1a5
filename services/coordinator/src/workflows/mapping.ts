/**
 * The input-mapping language of workflow nodes: `${<node>.result}` / `${<node>.result.<path>}`
 * references to the results of ancestors, and `${params.<name>}` references to template
 * parameters (resolved when a template is instantiated).
 *
 * - A string that is exactly one reference evaluates to the referenced value (any JSON type).
 * - Otherwise every reference is replaced by its value as text (strings as is, other values as
 *   JSON): `"Summarise ${fetch.result.title} in ${params.words} words"`.
 * - `$${` is a literal `${`.
 */

/** One `${…}` occurrence. */
export interface Reference {
  /** `node` for `${fetch.result…}`, `params` for `${params.x}`. */
  kind: 'node' | 'params';
  /** Node key (kind node) or parameter name (kind params). */
  name: string;
  /** Path inside the node's result (kind node; empty = the whole result) or inside the parameter's value. */
  path: string[];
  /** The text between `${` and `}`. */
  raw: string;
}

/** A parsed expression: literal text and references, in order. */
export interface Expression {
  parts: Array<string | Reference>;
  /** The whole string is one reference (evaluates to a value, not text). */
  whole: boolean;
}

export class MappingSyntaxError extends Error {}

const SEGMENT_RE = /^[A-Za-z0-9_$-]{1,128}$/;

function parseReference(raw: string): Reference {
  const parts = raw.trim().split('.');
  const head = parts[0] ?? '';
  if (head === 'params') {
    const name = parts[1];
    if (!name || !/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name)) throw new MappingSyntaxError(`\${${raw}}: expected \${params.<name>}`);
    const path = parts.slice(2);
    for (const p of path) if (!SEGMENT_RE.test(p)) throw new MappingSyntaxError(`\${${raw}}: invalid path segment "${p}"`);
    return { kind: 'params', name, path, raw };
  }
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(head))
    throw new MappingSyntaxError(`\${${raw}}: expected \${<node>.result[.path]} or \${params.<name>}`);
  if (parts[1] !== 'result') throw new MappingSyntaxError(`\${${raw}}: a node reference reads its result: \${${head}.result[.path]}`);
  const path = parts.slice(2);
  for (const p of path) if (!SEGMENT_RE.test(p)) throw new MappingSyntaxError(`\${${raw}}: invalid path segment "${p}"`);
  return { kind: 'node', name: head, path, raw };
}

/** Parses a string into text and references; throws MappingSyntaxError on a malformed `${…}`. */
export function parseExpression(text: string): Expression {
  const parts: Array<string | Reference> = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      literal += '${';
      i += 3;
      continue;
    }
    if (text.startsWith('${', i)) {
      const end = text.indexOf('}', i + 2);
      if (end < 0) throw new MappingSyntaxError(`unterminated \${ in "${text.slice(0, 80)}"`);
      if (literal) parts.push(literal);
      literal = '';
      parts.push(parseReference(text.slice(i + 2, end)));
      i = end + 1;
      continue;
    }
    literal += text[i];
    i++;
  }
  if (literal) parts.push(literal);
  return { parts, whole: parts.length === 1 && typeof parts[0] !== 'string' };
}

/** True when the string contains a `${` that is not escaped. */
export function hasReference(text: string): boolean {
  return /(^|[^$])\$\{/.test(text);
}

/** The value at `path` inside `value`, or `undefined` when a segment is missing. */
export function getPath(value: unknown, path: readonly string[]): unknown {
  let cur: unknown = value;
  for (const seg of path) {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(seg)) return undefined;
      cur = cur[Number(seg)];
    } else if (typeof cur === 'object') {
      if (!Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
      cur = (cur as Record<string, unknown>)[seg];
    } else {
      return undefined;
    }
  }
  return cur;
}

/**
 * Sets `value` at a dotted path inside `target`, creating objects on the way. Only own
 * properties are followed and written (`__proto__`, `constructor` and `prototype` segments are
 * refused at submit; this is the second line: a path can never reach a prototype).
 */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const segs = path.split('.');
  if (segs.some((seg) => seg === '__proto__' || seg === 'constructor' || seg === 'prototype'))
    throw new Error(`input target "${path}" reaches a prototype`);
  let cur: Record<string, unknown> = target;
  for (let i = 0; i < segs.length - 1; i++) {
    const seg = segs[i]!;
    const next = Object.prototype.hasOwnProperty.call(cur, seg) ? cur[seg] : undefined;
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      const created: Record<string, unknown> = {};
      cur[seg] = created;
      cur = created;
    } else {
      cur = next as Record<string, unknown>;
    }
  }
  cur[segs[segs.length - 1]!] = value;
}

function asText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A reference that could not be resolved. */
export class UnresolvedReferenceError extends Error {
  constructor(
    readonly reference: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Evaluates an expression. `lookup` returns the referenced value or undefined (then
 * UnresolvedReferenceError), or leaves the reference in place when `keep(ref)` says so (template
 * parameters are substituted while node references stay for run time).
 */
export function evaluate(expr: Expression, lookup: (ref: Reference) => unknown, keep: (ref: Reference) => boolean = () => false): unknown {
  const resolve = (ref: Reference): unknown => {
    const v = lookup(ref);
    if (v === undefined) {
      const what = ref.kind === 'params' ? `parameter ${ref.name}` : `${ref.name}.result`;
      throw new UnresolvedReferenceError(
        ref.raw,
        `\${${ref.raw}}: ${ref.path.length ? `path ${ref.path.join('.')} not found in ` : ''}${what}`,
      );
    }
    return v;
  };
  if (expr.whole) {
    const ref = expr.parts[0] as Reference;
    return keep(ref) ? `\${${ref.raw}}` : resolve(ref);
  }
  let out = '';
  for (const p of expr.parts) {
    if (typeof p === 'string') out += p.replace(/\$\{/g, '$${');
    else out += keep(p) ? `\${${p.raw}}` : asText(resolve(p));
  }
  return out;
}

/** Evaluates a string whose references are all resolved (no `keep`): escapes become plain `${`. */
export function evaluateFinal(text: string, lookup: (ref: Reference) => unknown): unknown {
  const expr = parseExpression(text);
  if (expr.whole) return evaluate(expr, lookup);
  let out = '';
  for (const p of expr.parts) {
    if (typeof p === 'string') out += p;
    else {
      const v = lookup(p);
      if (v === undefined) {
        const what = p.kind === 'params' ? `parameter ${p.name}` : `${p.name}.result`;
        throw new UnresolvedReferenceError(p.raw, `\${${p.raw}}: ${p.path.length ? `path ${p.path.join('.')} not found in ` : ''}${what}`);
      }
      out += asText(v);
    }
  }
  return out;
}

/**
 * Computes a node's input: its static input with every `inputs` entry evaluated against the
 * results of its ancestors and set at its target path.
 */
export function mapInputs(
  input: Record<string, unknown>,
  inputs: Record<string, string> | undefined,
  results: (node: string) => Record<string, unknown> | null | undefined,
): Record<string, unknown> {
  if (!inputs || Object.keys(inputs).length === 0) return input;
  const out = structuredClone(input);
  for (const [target, text] of Object.entries(inputs)) {
    const value = evaluateFinal(text, (ref) => {
      if (ref.kind !== 'node') return undefined;
      const r = results(ref.name);
      if (r === undefined || r === null) return undefined;
      return getPath(r, ref.path);
    });
    setPath(out, target, value);
  }
  return out;
}
