import { type EnvValues, type EnvVar, bool, int, optionalStr, str, url } from '@swarm-mesh/service-kit';

function optionalUrl(description: string): EnvVar<string | undefined> {
  const check = url(description, ['http', 'https']);
  return { description, default: undefined, parse: (raw) => check.parse(raw) };
}

function secret(description: string, minLength: number): EnvVar<string | undefined> {
  return {
    description,
    default: undefined,
    parse(raw) {
      if (raw.length < minLength) throw new Error(`must be at least ${minLength} characters`);
      if (/\s/.test(raw)) throw new Error('must not contain whitespace');
      return raw;
    },
  };
}

/** Gateway-specific environment variables (re-exported as GATEWAY_ENV by gateway.definition.ts). */
export const GATEWAY_ENV = {
  JAEGER_UI_URL: optionalUrl('Jaeger UI the dashboard links task traces to, e.g. http://localhost:16686 (unset = no links)'),
  GATEWAY_BODY_LIMIT_BYTES: int('Largest accepted REST request body', { default: 4 * 1024 * 1024, min: 1024, max: 64 * 1024 * 1024 }),
  SWARM_ADMIN_API_KEY: secret('Bootstrap admin API key (tenant "default", role admin); unset = only keys stored in gateway.api_keys', 16),
  GATEWAY_API_KEY_CACHE_TTL_MS: int('How long a verified stored API key is trusted before it is looked up again (revocation delay)', {
    default: 30_000,
    min: 0,
    max: 3_600_000,
  }),
  GATEWAY_RATE_LIMIT: int('Requests per rate window per API key (a key may carry its own limit); 0 = no limit', {
    // 10,000 requests/s per key: above what one gateway serves, so the default never caps a
    // client at the advertised rates, and still stops a runaway one across replicas
    default: 100_000,
    min: 0,
    max: 100_000_000,
  }),
  GATEWAY_RATE_WINDOW_MS: int('Rate-limit window', { default: 10_000, min: 100, max: 60_000 }),
  GATEWAY_RATE_SYNC_MS: int('How often a gateway replica merges its local request counts into the shared NATS KV counters', {
    default: 50,
    min: 5,
    max: 5_000,
  }),
  GATEWAY_AUDIT_FLUSH_MS: int(
    'Group-commit delay of audit writes while busy; after 5 x this long without a write, the next one leaves at once (0 = always at once, natural batching)',
    { default: 2, min: 0, max: 1_000 },
  ),
  GATEWAY_SUBMIT_INFLIGHT: int(
    'Messages carrying single submits (POST /tasks) in flight to the coordinator at once; requests arriving meanwhile leave together in the next one. 0 = each alone',
    { default: 2, min: 0, max: 64 },
  ),
  GATEWAY_STREAM_MAX_BUFFER_BYTES: int('A WebSocket client further behind than this loses events (it is told how many)', {
    default: 4 * 1024 * 1024,
    min: 1024,
    max: 256 * 1024 * 1024,
  }),
  GATEWAY_STREAM_MAX_CLIENTS: int('Most concurrent WebSocket stream clients per gateway', { default: 1_000, min: 1, max: 100_000 }),
  GATEWAY_ALERTS_ENABLED: bool('Evaluate alert rules and deliver alerts (one replica at a time holds the evaluator lease)', {
    default: true,
  }),
  GATEWAY_ALERT_TICK_MS: int('How often alert windows, cooldowns and pending deliveries are checked', {
    default: 1_000,
    min: 10,
    max: 600_000,
  }),
  GATEWAY_ALERT_LEASE_MS: int('Lease of the alert evaluator (another replica takes over after it lapses)', {
    default: 15_000,
    min: 300,
    max: 600_000,
  }),
  GATEWAY_ALERT_RETRY_MS: str('Delays between delivery attempts, ms, comma-separated (its length + 1 = attempts)', {
    default: '1000,5000,30000,120000',
    pattern: /^\d{1,9}(,\d{1,9}){0,19}$/,
    patternHint: 'comma-separated whole milliseconds, e.g. 1000,5000',
  }),
  GATEWAY_ALERT_HTTP_TIMEOUT_MS: int('Deadline of one webhook or SMTP delivery attempt', { default: 10_000, min: 100, max: 120_000 }),
  SMTP_URL: optionalStr('SMTP server for e-mail alerts: smtp://[user:password@]host[:port] (no TLS; use a local relay)'),
  SMTP_FROM: str('Sender address of e-mail alerts', { default: 'swarm-mesh@localhost' }),
};

export type GatewayEnv = EnvValues<typeof GATEWAY_ENV>;
