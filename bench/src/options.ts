import { SERVICE_NAMES } from '@swarm-mesh/contracts';

export type BenchMode = 'throughput' | 'rate' | 'both' | 'singles';
export type SubmitVia = 'rest' | 'sdk';

/** What `npm run bench -- …` accepts. */
export interface BenchOptions {
  tasks: number;
  mode: BenchMode;
  rate: number;
  durationS: number;
  agents: number;
  concurrency: number;
  /** Simulated idle agents connected for a second throughput run (0 = none). */
  idleAgents: number;
  /** Seconds between memory samples of every process during the rate run (0 = only at the end). */
  rssEveryS: number;
  /** Seconds of the same open-loop load before the measured rate run (not counted). */
  rateWarmupS: number;
  submit: SubmitVia;
  /** Tasks per batch request (≤ 1000). */
  chunk: number;
  /** Batch requests in flight at once. */
  inflight: number;
  /** Closed-loop clients of --mode singles. */
  clients: number;
  /** Tasks run (and waited for) before the measured run; not counted. */
  warmup: number;
  /** Give up on missing completions this long after the last submit. */
  completeTimeoutS: number;
  reuse: boolean;
  trace: boolean;
  /** Validate every event with class-validator (bus.decodeMessage) instead of the envelope only. */
  validateEvents: boolean;
  baseline: boolean;
  /** Processes profiled during the measured runs (empty = none). */
  profile: string[];
  profileDir: string | undefined;
  /** Print the human-readable sections (the JSON line is always printed). */
  quiet: boolean;
  help: boolean;
}

export const PROFILABLE = [...SERVICE_NAMES, 'demo-swarm', 'bench'] as const;

export const HELP = `Usage: npm run bench [-- options]

Runs tasks through the full Swarm Mesh path (REST → gateway → coordinator → JetStream → no-op
agents → results → coordinator → EVENTS) on a private, throw-away mesh (fresh namespace, temp
database, all five services + one demo-swarm process), a fixed-rate latency run, and a raw
JetStream + Postgres baseline (run first, before the services start).
Ends with one JSON line (CONTRACT.md, "Benchmark output").

Options:
  --tasks N              tasks in the throughput run (default 20000)
  --mode M               throughput | rate | both (default both: throughput, then rate) | singles
                         (singles: --tasks single POST /api/v1/tasks from --clients closed-loop clients)
  --clients N            concurrent clients of --mode singles (default 64)
  --rate R               offered rate of the rate run, tasks/s (default 500)
  --duration-s S         length of the rate run (default 10)
  --rate-warmup-s S      the same open-loop load for S seconds before the measured rate run, not
                         counted (default min(3, duration/2)): the single-submit path is not the
                         batch path the throughput warm-up ran, and V8 optimises it in the first
                         seconds (unwarmed, a 10 s run's median fell ~2× from its first to its last
                         fifth); 0 = measure from the first request
  --agents N             no-op agents (DEMO_AGENTS_PER_CAPABILITY, default 2)
  --concurrency N        slots per agent (DEMO_CONCURRENCY, default 50)
  --idle-agents N        after the throughput run, connect N simulated idle agents (registered,
                         heart-beating, never given work) and run it again: prints both rates
  --rss-every-s S        sample every process's RSS every S s during the rate run and print the
                         drift (default 10 when --duration-s ≥ 60, else 0 = end only); for the
                         memory soak: --mode rate --rate 1000 --duration-s 600
  --submit rest|sdk      raw HTTP keep-alive client (default) or the SDK's SwarmClient (fetch)
  --chunk N              tasks per POST /tasks/batch (default 1000, max 1000)
  --inflight N           batch requests in flight (default 4)
  --warmup N             tasks run before the measured run, not counted (default min(1000, tasks/10))
  --complete-timeout-s S deadline for completions after the last submit (default 60 + tasks/200)
  --no-baseline          skip the raw JetStream/Postgres baseline
  --reuse                use a running system (SWARM_URL, SWARM_API_KEY, SWARM_NAMESPACE) instead
                         of starting one; per-process CPU/RSS are then omitted
  --trace                leave OpenTelemetry on in the services (default OTEL_SDK_DISABLED=true)
  --validate-events      decode events with bus.decodeMessage (class-validator on every event);
                         default: JSON.parse and a shape check — the full pass costs the bench
                         ~0.4 CPU s per 1,000 tasks, taken from the mesh on 2 cores
  --profile[=a,b]        CPU-profile these processes during the measured runs (V8 sampling profiler,
                         warm-up and start-up excluded; default all: ${PROFILABLE.join(', ')})
                         and print the top functions by self time of each profile
  --profile-dir DIR      where the .cpuprofile files go (default test-artifacts/bench-profiles/<time>)
  --quiet                print only the final JSON line
  --help                 this text

Subcommand: npm run bench -- ingest [--samples N] [--rate R] …  the performance optimizer's ingestion
alone (EVENTS stream → optimizer → Postgres); see npm run bench -- ingest --help.

Environment: NATS_URL (nats://127.0.0.1:4222), DATABASE_URL / TEST_DATABASE_URL (admin connection
for the temp database, default postgres://postgres@127.0.0.1:5432/test).
`;

export class UsageError extends Error {}

function intArg(name: string, raw: string | undefined, min: number, max: number): number {
  const v = Number(raw);
  if (raw === undefined || !Number.isInteger(v) || v < min || v > max) {
    throw new UsageError(`${name} needs a whole number from ${min} to ${max} (got "${raw ?? ''}")`);
  }
  return v;
}

function numArg(name: string, raw: string | undefined, min: number, max: number): number {
  const v = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isFinite(v) || v < min || v > max) {
    throw new UsageError(`${name} needs a number from ${min} to ${max} (got "${raw ?? ''}")`);
  }
  return v;
}

/** Parses `--name value` and `--name=value` arguments. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const o: BenchOptions = {
    tasks: 20_000,
    mode: 'both',
    rate: 500,
    durationS: 10,
    agents: 2,
    concurrency: 50,
    idleAgents: 0,
    rssEveryS: -1,
    rateWarmupS: -1,
    submit: 'rest',
    chunk: 1000,
    inflight: 4,
    clients: 64,
    warmup: -1,
    completeTimeoutS: -1,
    reuse: false,
    trace: false,
    validateEvents: false,
    baseline: true,
    profile: [],
    profileDir: undefined,
    quiet: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    switch (name) {
      case '--help':
      case '-h':
        o.help = true;
        break;
      case '--tasks':
        o.tasks = intArg(name, value(), 1, 10_000_000);
        break;
      case '--mode': {
        const m = value();
        if (m !== 'throughput' && m !== 'rate' && m !== 'both' && m !== 'singles')
          throw new UsageError(`--mode is throughput, rate, both or singles (got "${m ?? ''}")`);
        o.mode = m;
        break;
      }
      case '--rate':
        o.rate = numArg(name, value(), 0.1, 1_000_000);
        break;
      case '--duration-s':
        o.durationS = numArg(name, value(), 0.1, 86_400);
        break;
      case '--agents':
        o.agents = intArg(name, value(), 1, 100);
        break;
      case '--concurrency':
        o.concurrency = intArg(name, value(), 1, 10_000);
        break;
      case '--clients':
        o.clients = intArg(name, value(), 1, 10_000);
        break;
      case '--idle-agents':
        o.idleAgents = intArg(name, value(), 0, 10_000);
        break;
      case '--rss-every-s':
        o.rssEveryS = numArg(name, value(), 0, 3600);
        break;
      case '--rate-warmup-s':
        o.rateWarmupS = numArg(name, value(), 0, 3600);
        break;
      case '--submit': {
        const s = value();
        if (s !== 'rest' && s !== 'sdk') throw new UsageError(`--submit is rest or sdk (got "${s ?? ''}")`);
        o.submit = s;
        break;
      }
      case '--chunk':
        o.chunk = intArg(name, value(), 1, 1000);
        break;
      case '--inflight':
        o.inflight = intArg(name, value(), 1, 1000);
        break;
      case '--warmup':
        o.warmup = intArg(name, value(), 0, 1_000_000);
        break;
      case '--complete-timeout-s':
        o.completeTimeoutS = numArg(name, value(), 1, 86_400);
        break;
      case '--no-baseline':
        o.baseline = false;
        break;
      case '--reuse':
        o.reuse = true;
        break;
      case '--trace':
        o.trace = true;
        break;
      case '--validate-events':
        o.validateEvents = true;
        break;
      case '--profile': {
        const list = (inline ?? PROFILABLE.join(','))
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const unknown = list.filter((s) => !(PROFILABLE as readonly string[]).includes(s));
        if (unknown.length > 0) throw new UsageError(`--profile: unknown process ${unknown.join(', ')} (known: ${PROFILABLE.join(', ')})`);
        o.profile = list;
        break;
      }
      case '--profile-dir':
        o.profileDir = value();
        if (!o.profileDir) throw new UsageError('--profile-dir needs a folder');
        break;
      case '--quiet':
      case '-q':
        o.quiet = true;
        break;
      default:
        throw new UsageError(`unknown option "${arg}" (see --help)`);
    }
  }
  if (o.warmup < 0) o.warmup = Math.min(1000, Math.ceil(o.tasks / 10));
  if (o.rssEveryS < 0) o.rssEveryS = o.durationS >= 60 ? 10 : 0;
  if (o.rateWarmupS < 0) o.rateWarmupS = Math.min(3, o.durationS / 2);
  if (o.completeTimeoutS < 0) o.completeTimeoutS = 60 + o.tasks / 200;
  if (o.reuse && o.profile.length > 0) throw new UsageError('--profile starts the processes itself; it cannot be combined with --reuse');
  return o;
}
