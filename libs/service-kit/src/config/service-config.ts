import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { SERVICE_DEFAULT_PORTS, type ServiceName } from '@swarm-mesh/contracts';
import { bool, type EnvSpec, type EnvValues, int, oneOf, optionalStr, readEnv, str, url, urlList } from './env-spec';

/** Variables every service reads. Service-specific ones are declared next to the service. */
export const BASE_ENV_SPEC = {
  NATS_URL: urlList('NATS server URLs, comma-separated', ['nats', 'tls', 'ws', 'wss'], { default: 'nats://127.0.0.1:4222' }),
  NATS_USER: optionalStr('NATS user (user/password auth)'),
  NATS_PASSWORD: optionalStr('NATS password'),
  NATS_TOKEN: optionalStr('NATS token auth'),
  NATS_CREDS: optionalStr('Path to a NATS .creds file (JWT auth)'),
  SWARM_NAMESPACE: str('Prefix isolating subjects, streams and queue groups; empty in production', {
    default: '',
    pattern: /^$|^[a-z][a-z0-9_]{0,31}$/,
    patternHint: 'lowercase letters, digits and _ (starting with a letter, ≤ 32 chars)',
  }),
  DATABASE_URL: url('Postgres connection URL', ['postgres', 'postgresql'], { default: 'postgres://postgres@127.0.0.1:5432/swarm_mesh' }),
  DB_POOL_MAX: int('Postgres pool size per service process', { default: 10, min: 1, max: 200 }),
  DB_CREATE_IF_MISSING: bool('Create the database when it does not exist', { default: true }),
  HTTP_HOST: str('Interface the HTTP server binds', { default: '0.0.0.0' }),
  HTTP_PORT: int('HTTP port (overrides <SERVICE>_PORT; 0 = any free port)', { min: 0, max: 65535 }),
  LOG_LEVEL: oneOf('Minimum log level', ['debug', 'info', 'warn', 'error'] as const, { default: 'info' }),
  SHUTDOWN_GRACE_MS: int('How long a stopping service waits for in-flight work', { default: 10_000, min: 0, max: 600_000 }),
  SWARM_INSTANCE_ID: optionalStr('Unique id of this process (default host-pid-random)'),
  SWARM_VERSION: str('Version reported by health', { default: '0.1.0' }),
  HEAP_GROWING_PERCENT: int(
    "Old-generation room V8 grants before its next full GC, in % of the live heap (0 = V8's adaptive factor, which lets a busy process's heap and RSS swing by tens of MiB between collections)",
    { default: 50, min: 0, max: 1000 },
  ),
  LEADER_LEASE_TTL_MS: int(
    'Singleton services (coordinator, allocator, resolver): a standby replica takes over this long after the active one stops renewing its lease',
    { default: 3000, min: 100, max: 600_000 },
  ),
  NATS_AWAIT_RESPONDER_MS: int(
    "How long a request to a singleton service (coordinator, allocator, resolver) retries while nothing answers its subject (its standby taking over the lease, or its active replica starting) before it fails SERVICE_UNAVAILABLE; bounded by the request's timeout (0 = fail at once). Services that scale out fail at once",
    { default: 5000, min: 0, max: 600_000 },
  ),
} satisfies EnvSpec;

export type BaseConfig = EnvValues<typeof BASE_ENV_SPEC>;

/** Resolved configuration of one service process. */
export interface ServiceConfig<X = Record<string, never>> {
  service: ServiceName;
  instanceId: string;
  version: string;
  namespace: string;
  nats: { servers: string[]; user?: string; pass?: string; token?: string; credsFile?: string };
  database: { url: string; poolMax: number; createIfMissing: boolean };
  http: { host: string; port: number };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  shutdownGraceMs: number;
  /** Lease of the active replica of a singleton service. */
  leaderLeaseTtlMs: number;
  /** How long a request to a singleton service retries while it has no responders (MeshBus `awaitResponderMs`). */
  awaitResponderMs: number;
  /** V8's heap growing percent (0 = V8's own); applied by `runService`. */
  heapGrowingPercent: number;
  /** Service-specific settings. */
  extra: X;
}

/** `<SERVICE>_PORT` variable name: `RESOURCE_ALLOCATOR_PORT`. */
export function portVariable(service: ServiceName): string {
  return `${service.toUpperCase().replace(/-/g, '_')}_PORT`;
}

/** Reads, checks and resolves a service's configuration; throws ConfigError on any problem. */
export function loadServiceConfig<S extends EnvSpec>(
  service: ServiceName,
  extraSpec?: S,
  env: NodeJS.ProcessEnv = process.env,
): ServiceConfig<EnvValues<S>> {
  const portSpec = {
    [portVariable(service)]: int(`HTTP port of ${service}`, { default: SERVICE_DEFAULT_PORTS[service], min: 0, max: 65535 }),
  };
  const spec = { ...BASE_ENV_SPEC, ...portSpec, ...(extraSpec ?? {}) } as EnvSpec;
  const v = readEnv(spec, env) as Record<string, unknown> & BaseConfig;
  const extra: Record<string, unknown> = {};
  for (const k of Object.keys(extraSpec ?? {})) extra[k] = v[k];
  const nats: ServiceConfig['nats'] = { servers: v.NATS_URL };
  if (v.NATS_USER) nats.user = v.NATS_USER;
  if (v.NATS_PASSWORD) nats.pass = v.NATS_PASSWORD;
  if (v.NATS_TOKEN) nats.token = v.NATS_TOKEN;
  if (v.NATS_CREDS) nats.credsFile = v.NATS_CREDS;
  return {
    service,
    instanceId: v.SWARM_INSTANCE_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    version: v.SWARM_VERSION,
    namespace: v.SWARM_NAMESPACE,
    nats,
    database: { url: v.DATABASE_URL, poolMax: v.DB_POOL_MAX, createIfMissing: v.DB_CREATE_IF_MISSING },
    http: { host: v.HTTP_HOST, port: v.HTTP_PORT ?? (v[portVariable(service)] as number) },
    logLevel: v.LOG_LEVEL as ServiceConfig['logLevel'],
    shutdownGraceMs: v.SHUTDOWN_GRACE_MS,
    leaderLeaseTtlMs: v.LEADER_LEASE_TTL_MS,
    awaitResponderMs: v.NATS_AWAIT_RESPONDER_MS,
    heapGrowingPercent: v.HEAP_GROWING_PERCENT,
    extra: extra as EnvValues<S>,
  };
}
