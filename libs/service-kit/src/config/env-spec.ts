/**
 * A tiny typed environment reader. Every variable is declared once with its type, default and
 * description; `readEnv` checks them all and reports every problem at once, so a bad setting
 * stops the process at start-up with a clear message instead of failing later.
 */
export interface EnvVar<T> {
  readonly description: string;
  readonly default?: T;
  readonly required?: boolean;
  /** Turns the raw string into a value or throws a message. */
  parse(raw: string): T;
}

export type EnvSpec = Record<string, EnvVar<unknown>>;
export type EnvValues<S extends EnvSpec> = { [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never };

/** Thrown when one or more configuration variables are invalid or missing. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export function str(
  description: string,
  opts: { default?: string; required?: boolean; pattern?: RegExp; patternHint?: string } = {},
): EnvVar<string> {
  return {
    description,
    ...(opts.default !== undefined ? { default: opts.default } : {}),
    ...(opts.required ? { required: true } : {}),
    parse(raw) {
      if (opts.pattern && !opts.pattern.test(raw)) throw new Error(`must match ${opts.patternHint ?? opts.pattern.source}`);
      return raw;
    },
  };
}

export function optionalStr(description: string): EnvVar<string | undefined> {
  return { description, default: undefined, parse: (raw) => raw };
}

export function int(description: string, opts: { default?: number; min?: number; max?: number; required?: boolean } = {}): EnvVar<number> {
  return {
    description,
    ...(opts.default !== undefined ? { default: opts.default } : {}),
    ...(opts.required ? { required: true } : {}),
    parse(raw) {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be an integer, got "${raw}"`);
      const n = Number(raw);
      if (opts.min !== undefined && n < opts.min) throw new Error(`must be ≥ ${opts.min}, got ${n}`);
      if (opts.max !== undefined && n > opts.max) throw new Error(`must be ≤ ${opts.max}, got ${n}`);
      return n;
    },
  };
}

export function num(description: string, opts: { default?: number; min?: number; max?: number } = {}): EnvVar<number> {
  return {
    description,
    ...(opts.default !== undefined ? { default: opts.default } : {}),
    parse(raw) {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`must be a number, got "${raw}"`);
      if (opts.min !== undefined && n < opts.min) throw new Error(`must be ≥ ${opts.min}, got ${n}`);
      if (opts.max !== undefined && n > opts.max) throw new Error(`must be ≤ ${opts.max}, got ${n}`);
      return n;
    },
  };
}

export function bool(description: string, opts: { default?: boolean } = {}): EnvVar<boolean> {
  return {
    description,
    ...(opts.default !== undefined ? { default: opts.default } : {}),
    parse(raw) {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new Error(`must be true or false, got "${raw}"`);
    },
  };
}

export function oneOf<T extends string>(description: string, values: readonly T[], opts: { default?: T } = {}): EnvVar<T> {
  return {
    description,
    ...(opts.default !== undefined ? { default: opts.default } : {}),
    parse(raw) {
      if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}, got "${raw}"`);
      return raw as T;
    },
  };
}

/** A list of URLs with allowed schemes, comma-separated. */
export function urlList(description: string, schemes: string[], opts: { default?: string } = {}): EnvVar<string[]> {
  return {
    description,
    ...(opts.default !== undefined ? { default: opts.default.split(',') } : {}),
    parse(raw) {
      const urls = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (urls.length === 0) throw new Error('must name at least one URL');
      for (const u of urls) {
        let parsed: URL;
        try {
          parsed = new URL(u);
        } catch {
          throw new Error(`"${u}" is not a URL`);
        }
        if (!schemes.includes(parsed.protocol.replace(/:$/, '')))
          throw new Error(`"${u}" must use ${schemes.map((s) => `${s}://`).join(' or ')}`);
      }
      return urls;
    },
  };
}

export function url(description: string, schemes: string[], opts: { default?: string; required?: boolean } = {}): EnvVar<string> {
  const list = urlList(description, schemes);
  return {
    description,
    ...(opts.default !== undefined ? { default: opts.default } : {}),
    ...(opts.required ? { required: true } : {}),
    parse(raw) {
      const urls = list.parse(raw);
      if (urls.length !== 1) throw new Error('must be exactly one URL');
      return urls[0]!;
    },
  };
}

/** Reads and checks every variable of `spec` from `env`; throws ConfigError listing all problems. */
export function readEnv<S extends EnvSpec>(spec: S, env: NodeJS.ProcessEnv = process.env): EnvValues<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, v] of Object.entries(spec)) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      if (v.required) problems.push(`${name} is required (${v.description})`);
      else out[name] = v.default;
      continue;
    }
    try {
      out[name] = v.parse(raw);
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message} (${v.description})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as EnvValues<S>;
}

/** Renders a spec as `.env.example` lines (used to keep the example honest in a test). */
export function describeEnv(spec: EnvSpec): string {
  return Object.entries(spec)
    .map(
      ([name, v]) =>
        `# ${v.description}${v.required ? ' (required)' : ''}\n${v.default === undefined ? '# ' : ''}${name}=${v.default === undefined ? '' : Array.isArray(v.default) ? v.default.join(',') : String(v.default as string | number | boolean)}`,
    )
    .join('\n\n');
}
