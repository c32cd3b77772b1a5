import {
  AGENT_DOMAINS,
  AGENT_ID_RE,
  AGENT_TIERS,
  type AgentDomain,
  type AgentTier,
  CAPABILITY_RE,
  TENANT_ID_RE,
  validateNamespace,
} from '@swarm-mesh/contracts';
import { createLogger, type Logger } from '@swarm-mesh/telemetry';
import type { NatsConnection } from 'nats';

/** How registration is retried until the coordinator answers. */
export interface RegisterRetryOptions {
  /** Delay before the second attempt. Default 250 ms. */
  initialDelayMs?: number;
  /** Largest delay between attempts. Default 5 000 ms. */
  maxDelayMs?: number;
  /** Growth of the delay per attempt. Default 2. */
  multiplier?: number;
  /** Random spread applied to each delay (0.2 = ±20 %). Default 0.2. */
  jitter?: number;
  /** Deadline of one register request. Default 5 000 ms. */
  requestTimeoutMs?: number;
  /**
   * Attempts of the FIRST registration before `start()` rejects. Default `Infinity` (wait for
   * the coordinator forever). Re-registrations after a reconnect always retry forever.
   */
  maxAttempts?: number;
}

/** NATS authentication. Every field defaults to its environment variable. */
export interface AgentNatsAuth {
  /** Default `NATS_USER`. */
  user?: string;
  /** Default `NATS_PASSWORD`. */
  pass?: string;
  /** Default `NATS_TOKEN`. */
  token?: string;
  /** Path to a `.creds` file. Default `NATS_CREDS`. */
  credsFile?: string;
}

/**
 * Options of an `Agent`. Only `id` and `domain` are required; every other field has a
 * default. The options are validated once, in the constructor: bad options throw an
 * `AgentOptionsError` listing every problem.
 */
export interface AgentOptions {
  /** Stable agent id, `^[A-Za-z0-9_-]{1,128}$`; also a NATS subject token. Required. */
  id: string;
  /** Display name (1–200 characters). Default: `id`. */
  name?: string;
  /** Tenant the agent works for. Default `'default'`. */
  tenantId?: string;
  /** Swarm domain: `data` | `content` | `intel` | `quality` | `infra`. Required. */
  domain: AgentDomain;
  /** Tier of the hierarchy: `master` | `specialist` | `microtask`. Default `specialist`. */
  tier?: AgentTier;
  /**
   * Capabilities announced to the coordinator. Default: the capabilities registered with
   * `agent.handle()`. When given, every entry needs a handler by `start()`.
   */
  capabilities?: string[];
  /** Attempts run at once (1–10 000). The agent never pulls more work than free slots. Default 10. */
  concurrency?: number;
  /** NATS server URL(s), comma-separated. Default `NATS_URL` or `nats://127.0.0.1:4222`. */
  natsUrl?: string;
  /** Deployment namespace (prefixes subjects and stream names). Default `SWARM_NAMESPACE` or `''`. */
  namespace?: string;
  /** NATS authentication. Default: `NATS_USER`/`NATS_PASSWORD`/`NATS_TOKEN`/`NATS_CREDS`. */
  nats?: AgentNatsAuth;
  /**
   * An existing connection to share between agents of one process. The agent never closes a
   * connection it did not open. Default: the agent connects on its own (reconnecting forever).
   */
  connection?: NatsConnection;
  /** Agent software version (1–100 characters). Default `SWARM_VERSION`, else none. */
  version?: string;
  /**
   * Free-form metadata sent at registration (JSON object, ≤ 16 KiB). Default none. `pool` (or
   * `provider`), a string, names the pool this agent calls: the coordinator then routes to it by
   * the optimizer's routing weights (docs/ROUTING-WEIGHTS.md).
   */
  metadata?: Record<string, unknown>;
  /**
   * How long finished attempts (and started/progress reports, dispatch acks) are gathered into one
   * batch. Default 2 ms. They leave on the next event-loop turn instead when the agent is idle
   * (nothing sent for 5 × this long: no timer on sparse traffic) or half its slots or more are
   * running or unreported (the coordinator may be waiting for them to dispatch more). `0` = always the next turn
   * (what finished in the same turn still leaves together).
   */
  resultBatchDelayMs?: number;
  /** How long `stop()` waits for running handlers before aborting them. Default 10 000 ms. */
  shutdownGraceMs?: number;
  /** Lifetime of one pull request on the dispatch consumer (≥ 1 000). Default 5 000 ms. */
  pullExpiresMs?: number;
  /** Structured logger. Default: JSON lines on stdout (`createLogger`, level `LOG_LEVEL`). */
  logger?: Logger;
  /** Registration retry. Defaults: see `RegisterRetryOptions`. */
  registerRetry?: RegisterRetryOptions;
  /**
   * Drain and exit on SIGTERM/SIGINT: every agent of the process with this option is stopped
   * gracefully, then the process exits 0. Default false (library use).
   */
  handleSignals?: boolean;
}

/** Options after defaults and validation. */
export interface CompiledAgentOptions {
  readonly id: string;
  readonly name: string;
  readonly tenantId: string;
  readonly domain: AgentDomain;
  readonly tier: AgentTier;
  readonly capabilities: readonly string[] | undefined;
  readonly concurrency: number;
  readonly natsUrl: string;
  readonly namespace: string;
  readonly nats: Readonly<AgentNatsAuth>;
  readonly connection: NatsConnection | undefined;
  readonly version: string | undefined;
  readonly metadata: Record<string, unknown> | undefined;
  readonly resultBatchDelayMs: number;
  readonly shutdownGraceMs: number;
  readonly pullExpiresMs: number;
  readonly logger: Logger;
  readonly registerRetry: Readonly<Required<RegisterRetryOptions>>;
  readonly handleSignals: boolean;
}

/** Thrown by the `Agent` constructor when options are invalid; `problems` lists each one. */
export class AgentOptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid agent options: ${problems.join('; ')}`);
    this.name = 'AgentOptionsError';
  }
}

const KNOWN_KEYS: ReadonlySet<string> = new Set<keyof AgentOptions>([
  'id',
  'name',
  'tenantId',
  'domain',
  'tier',
  'capabilities',
  'concurrency',
  'natsUrl',
  'namespace',
  'nats',
  'connection',
  'version',
  'metadata',
  'resultBatchDelayMs',
  'shutdownGraceMs',
  'pullExpiresMs',
  'logger',
  'registerRetry',
  'handleSignals',
]);

const RETRY_KEYS: ReadonlySet<string> = new Set<keyof RegisterRetryOptions>([
  'initialDelayMs',
  'maxDelayMs',
  'multiplier',
  'jitter',
  'requestTimeoutMs',
  'maxAttempts',
]);

const AUTH_KEYS: ReadonlySet<string> = new Set<keyof AgentNatsAuth>(['user', 'pass', 'token', 'credsFile']);

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? 'an array' : typeof v;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Applies defaults and validates agent options in one place. `env` supplies the
 * environment-variable defaults (default `process.env`).
 */
export function compileAgentOptions(options: AgentOptions, env: NodeJS.ProcessEnv = process.env): CompiledAgentOptions {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) throw new AgentOptionsError(['options must be an object']);
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) problems.push(`unknown option "${key}"`);
  }

  const int = (name: string, v: unknown, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got ${describe(v)})`);
      return dflt;
    }
    return v;
  };
  const num = (name: string, v: unknown, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || Number.isNaN(v) || v < min || v > max) {
      problems.push(`${name} must be a number between ${min} and ${max} (got ${describe(v)})`);
      return dflt;
    }
    return v;
  };
  const str = (name: string, v: unknown, dflt: string | undefined, min: number, max: number): string | undefined => {
    if (v === undefined) return dflt;
    if (typeof v !== 'string' || v.length < min || v.length > max) {
      problems.push(`${name} must be a string of ${min}–${max} characters (got ${describe(v)})`);
      return dflt;
    }
    return v;
  };

  // identity
  const id = options.id;
  if (typeof id !== 'string' || !AGENT_ID_RE.test(id)) problems.push(`id must match ${String(AGENT_ID_RE)} (got ${describe(id)})`);
  const name = str('name', options.name, typeof id === 'string' ? id : 'agent', 1, 200) ?? 'agent';
  const tenantId = options.tenantId ?? 'default';
  if (typeof tenantId !== 'string' || !TENANT_ID_RE.test(tenantId)) {
    problems.push(`tenantId must match ${String(TENANT_ID_RE)} (got ${describe(tenantId)})`);
  }
  const domain = options.domain;
  if (!(AGENT_DOMAINS as readonly unknown[]).includes(domain)) {
    problems.push(`domain must be one of ${AGENT_DOMAINS.join(', ')} (got ${describe(domain)})`);
  }
  const tier = options.tier ?? 'specialist';
  if (!(AGENT_TIERS as readonly unknown[]).includes(tier)) {
    problems.push(`tier must be one of ${AGENT_TIERS.join(', ')} (got ${describe(tier)})`);
  }

  let capabilities: string[] | undefined;
  if (options.capabilities !== undefined) {
    if (!Array.isArray(options.capabilities) || options.capabilities.length < 1 || options.capabilities.length > 100) {
      problems.push('capabilities must be a list of 1–100 capability names');
    } else {
      capabilities = [];
      for (const c of options.capabilities as unknown[]) {
        if (typeof c !== 'string' || !CAPABILITY_RE.test(c)) problems.push(`capability ${describe(c)} must match ${String(CAPABILITY_RE)}`);
        else if (capabilities.includes(c)) problems.push(`capability "${c}" is listed twice`);
        else capabilities.push(c);
      }
    }
  }

  const concurrency = int('concurrency', options.concurrency, 10, 1, 10_000);

  // connection
  const natsUrl = str('natsUrl', options.natsUrl, nonEmpty(env.NATS_URL) ?? 'nats://127.0.0.1:4222', 1, 4096) ?? 'nats://127.0.0.1:4222';
  let namespace = '';
  const rawNs = options.namespace ?? env.SWARM_NAMESPACE ?? '';
  try {
    namespace = validateNamespace(String(rawNs));
  } catch (err) {
    problems.push((err as Error).message);
  }
  const auth: AgentNatsAuth = {};
  const rawAuth: unknown = options.nats ?? {};
  if (typeof rawAuth !== 'object' || rawAuth === null || Array.isArray(rawAuth)) {
    problems.push('nats must be an object {user, pass, token, credsFile}');
  } else {
    for (const key of Object.keys(rawAuth)) if (!AUTH_KEYS.has(key)) problems.push(`unknown option "nats.${key}"`);
    const a = rawAuth as AgentNatsAuth;
    const user = str('nats.user', a.user, nonEmpty(env.NATS_USER), 1, 1024);
    const pass = str('nats.pass', a.pass, nonEmpty(env.NATS_PASSWORD), 0, 1024);
    const token = str('nats.token', a.token, nonEmpty(env.NATS_TOKEN), 1, 4096);
    const credsFile = str('nats.credsFile', a.credsFile, nonEmpty(env.NATS_CREDS), 1, 4096);
    if (user !== undefined) auth.user = user;
    if (pass !== undefined) auth.pass = pass;
    if (token !== undefined) auth.token = token;
    if (credsFile !== undefined) auth.credsFile = credsFile;
    if (auth.pass !== undefined && auth.user === undefined) problems.push('nats.pass needs nats.user');
    if (auth.token !== undefined && auth.user !== undefined) problems.push('nats.token and nats.user are exclusive');
  }
  const connection = options.connection;
  if (connection !== undefined && (typeof connection !== 'object' || connection === null || typeof connection.subscribe !== 'function')) {
    problems.push('connection must be a NatsConnection');
  }

  const version = str('version', options.version, nonEmpty(env.SWARM_VERSION)?.slice(0, 100), 1, 100);
  let metadata: Record<string, unknown> | undefined;
  if (options.metadata !== undefined) {
    const m: unknown = options.metadata;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) problems.push('metadata must be a JSON object');
    else {
      let size = Number.POSITIVE_INFINITY;
      try {
        size = Buffer.byteLength(JSON.stringify(m));
      } catch {
        /* not serialisable */
      }
      if (size > 16 * 1024) problems.push('metadata must encode to at most 16 KiB of JSON');
      else metadata = m as Record<string, unknown>;
    }
  }

  // timing
  const resultBatchDelayMs = int('resultBatchDelayMs', options.resultBatchDelayMs, 2, 0, 10_000);
  const shutdownGraceMs = int('shutdownGraceMs', options.shutdownGraceMs, 10_000, 0, 24 * 3600 * 1000);
  const pullExpiresMs = int('pullExpiresMs', options.pullExpiresMs, 5_000, 1_000, 300_000);

  const rr: unknown = options.registerRetry ?? {};
  const registerRetry: Required<RegisterRetryOptions> = {
    initialDelayMs: 250,
    maxDelayMs: 5_000,
    multiplier: 2,
    jitter: 0.2,
    requestTimeoutMs: 5_000,
    maxAttempts: Number.POSITIVE_INFINITY,
  };
  if (typeof rr !== 'object' || rr === null || Array.isArray(rr)) problems.push('registerRetry must be an object');
  else {
    for (const key of Object.keys(rr)) if (!RETRY_KEYS.has(key)) problems.push(`unknown option "registerRetry.${key}"`);
    const r = rr as RegisterRetryOptions;
    registerRetry.initialDelayMs = int('registerRetry.initialDelayMs', r.initialDelayMs, 250, 1, 3_600_000);
    registerRetry.maxDelayMs = int('registerRetry.maxDelayMs', r.maxDelayMs, Math.max(5_000, registerRetry.initialDelayMs), 1, 3_600_000);
    registerRetry.multiplier = num('registerRetry.multiplier', r.multiplier, 2, 1, 100);
    registerRetry.jitter = num('registerRetry.jitter', r.jitter, 0.2, 0, 1);
    registerRetry.requestTimeoutMs = int('registerRetry.requestTimeoutMs', r.requestTimeoutMs, 5_000, 1, 600_000);
    if (r.maxAttempts !== undefined && r.maxAttempts !== Number.POSITIVE_INFINITY) {
      registerRetry.maxAttempts = int('registerRetry.maxAttempts', r.maxAttempts, 1, 1, Number.MAX_SAFE_INTEGER);
    }
    if (registerRetry.maxDelayMs < registerRetry.initialDelayMs)
      problems.push('registerRetry.maxDelayMs must be ≥ registerRetry.initialDelayMs');
  }

  const logger = options.logger;
  if (
    logger !== undefined &&
    (typeof logger !== 'object' ||
      logger === null ||
      !['debug', 'info', 'warn', 'error', 'child'].every((k) => typeof (logger as unknown as Record<string, unknown>)[k] === 'function'))
  ) {
    problems.push('logger must implement debug/info/warn/error/child');
  }
  if (options.handleSignals !== undefined && typeof options.handleSignals !== 'boolean') {
    problems.push(`handleSignals must be a boolean (got ${describe(options.handleSignals)})`);
  }

  if (problems.length > 0) throw new AgentOptionsError(problems);
  return Object.freeze({
    id,
    name,
    tenantId,
    domain,
    tier,
    capabilities: capabilities ? Object.freeze(capabilities) : undefined,
    concurrency,
    natsUrl,
    namespace,
    nats: Object.freeze(auth),
    connection,
    version,
    metadata,
    resultBatchDelayMs,
    shutdownGraceMs,
    pullExpiresMs,
    logger: (logger ?? createLogger({ service: `agent:${id}` })).child({ agentId: id }),
    registerRetry: Object.freeze(registerRetry),
    handleSignals: options.handleSignals ?? false,
  });
}
