/**
 * A small strict argument parser: `--name value`, `--name=value`, boolean flags, repeatable
 * options, `-h`, and `--` to end options. Unknown options and missing values are usage errors.
 */

/** A mistake in the command line: exit code 2 with a hint to `--help`. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help to point at. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** Long name without dashes (`api-key`). */
  name: string;
  /** `string` takes a value, `list` takes a value and may repeat, `boolean` takes none. */
  type: 'string' | 'boolean' | 'list';
  /** One-letter alias (`h`). */
  short?: string;
  /** Shown in help: `--limit <n>`. */
  placeholder?: string;
  description: string;
}

export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string | boolean | string[] | undefined>;
}

function findSpec(specs: readonly OptionSpec[], token: string): OptionSpec | undefined {
  if (token.startsWith('--')) return specs.find((s) => s.name === token.slice(2));
  return specs.find((s) => s.short !== undefined && s.short === token.slice(1));
}

/** Parses `argv` against `specs`; throws UsageError on anything it does not know. */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command?: string): ParsedArgs {
  const positionals: string[] = [];
  const options: ParsedArgs['options'] = {};
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token === '-' || !token.startsWith('-') || /^-\d/.test(token)) {
      positionals.push(token);
      continue;
    }
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const name = eq >= 0 ? token.slice(0, eq) : token;
    const spec = findSpec(specs, name);
    if (!spec) throw new UsageError(`unknown option ${name}`, command);
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`option --${spec.name} takes no value`, command);
      options[spec.name] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = token.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`option --${spec.name} needs a value`, command);
      value = next;
      i++;
    }
    if (spec.type === 'list') {
      const list = (options[spec.name] as string[] | undefined) ?? [];
      list.push(value);
      options[spec.name] = list;
    } else {
      if (options[spec.name] !== undefined) throw new UsageError(`option --${spec.name} given twice`, command);
      options[spec.name] = value;
    }
  }
  return { positionals, options };
}

/** Integer option value (or undefined), with bounds; a usage error otherwise. */
export function intOption(value: unknown, name: string, min: number, max: number, command?: string): number | undefined {
  if (typeof value !== 'string') return undefined;
  const s = value;
  if (!/^-?\d+$/.test(s)) throw new UsageError(`--${name} must be an integer, got "${s}"`, command);
  const n = Number(s);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`, command);
  return n;
}

/** String option value (or undefined). */
export function strOption(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
