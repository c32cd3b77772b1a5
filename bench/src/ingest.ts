/**
 * `npm run bench -- ingest`: the performance optimizer's ingestion alone. Synthetic task events
 * shaped like the coordinator's (queued, dispatched, running, succeeded per task, batched into
 * EVENTS messages as the outbox relay does) go through the EVENTS stream → optimizer process →
 * Postgres (samples + rollups). Two runs on a private namespace and temp database:
 *
 * 1. backlog: N tasks' events are published first, then the optimizer starts and drains them:
 *    its ingestion capacity (samples/s) and CPU per 1,000 samples;
 * 2. paced: tasks at a fixed rate (default 4,000/s, above the mesh bench's task rate) while the
 *    optimizer runs: whether it keeps up (achieved rate, largest backlog, catch-up time after
 *    the last publish).
 *
 * Ends with one JSON line. Figures, not assertions: CI may run it with a small --samples.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { EVENTS_WILDCARD, EventMessages, type MeshEventDto, STREAMS } from '@swarm-mesh/contracts';
import { connectMesh, ensureStream, MeshBus } from '@swarm-mesh/messaging';
import {
  cleanupNamespace,
  createTestDatabase,
  randomNamespace,
  type ServiceProcess,
  startServiceProcess,
  type TestDatabase,
  testNatsUrl,
} from '@swarm-mesh/testing';
import { Client } from 'pg';
import { join, resolve } from 'node:path';
import { listenerPid, processCpuS, procAvailable, withDescendants } from './procfs';
import { formatProfileSummary, summarizeProfile } from './profile-top';
import { round, table } from './stats';

export interface IngestOptions {
  samples: number;
  /** Events per EVENTS message. */
  batch: number;
  rate: number;
  durationS: number;
  trace: boolean;
  /** Write a CPU profile of the optimizer during the backlog drain to this file and print its top functions. */
  profile: string | undefined;
  quiet: boolean;
  help: boolean;
}

/** The mesh bench's task rate on this machine (bench/README.md), for the comparison. */
const MESH_TASK_RATE_REFERENCE = 3500;

export const INGEST_HELP = `Usage: npm run bench -- ingest [options]

The performance optimizer's ingestion alone: synthetic task events (4 per task, shaped like the
coordinator's) through the EVENTS stream → optimizer process → Postgres samples + rollups.
1. backlog: --samples tasks published first, then drained by a freshly started optimizer;
2. paced: tasks at --rate per second for --duration-s while it runs (0 = skip).

Options:
  --samples N      tasks (= samples) in the backlog run (default 100000)
  --batch N        events per EVENTS message (default 400)
  --rate R         tasks/s of the paced run (default 4000; 0 skips it)
  --duration-s S   length of the paced run (default 25)
  --trace          leave OpenTelemetry on in the optimizer (default OTEL_SDK_DISABLED=true)
  --profile FILE   CPU-profile the optimizer during the backlog drain (.cpuprofile) and print its top functions
  --quiet          only the JSON line
`;

export function parseIngestOptions(argv: readonly string[]): IngestOptions {
  const o: IngestOptions = {
    samples: 100_000,
    batch: 400,
    rate: 4000,
    durationS: 25,
    trace: false,
    profile: undefined,
    quiet: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = (): number => {
      const raw = inline ?? argv[++i];
      const v = Number(raw);
      if (raw === undefined || !Number.isFinite(v) || v < 0) throw new Error(`${name} needs a number ≥ 0 (got "${raw ?? ''}")`);
      return v;
    };
    switch (name) {
      case '--samples':
        o.samples = Math.max(1, Math.round(value()));
        break;
      case '--batch':
        o.batch = Math.max(4, Math.round(value()));
        break;
      case '--rate':
        o.rate = value();
        break;
      case '--duration-s':
        o.durationS = value();
        break;
      case '--trace':
        o.trace = true;
        break;
      case '--profile':
        o.profile = resolve(inline ?? argv[++i] ?? '');
        if (!inline && !argv[i]) throw new Error('--profile needs a file');
        break;
      case '--quiet':
        o.quiet = true;
        break;
      case '--help':
        o.help = true;
        break;
      default:
        throw new Error(`unknown option "${argv[i]}" (see --help)`);
    }
  }
  return o;
}

const PROVIDERS = ['sim-a', 'sim-b', 'sim-c'];
const CAPABILITIES = ['data.fetch', 'content.generate', 'intel.analyze', 'quality.review', 'infra.noop'];

/** The four events of one task, as the coordinator emits them (terminal one with the learners' fields). */
function taskEvents(n: number, at: number): MeshEventDto[] {
  const taskId = randomUUID();
  const capability = CAPABILITIES[n % CAPABILITIES.length]!;
  const agentId = `${capability.replace('.', '-')}-${(n % 4) + 1}`;
  const base = { taskId, capability, priority: 1 };
  const ts = new Date(at).toISOString();
  const queueWaitMs = 1 + (n % 7);
  const runMs = 20 + ((n * 7919) % 180);
  return [
    { type: 'task.queued', ts, tenantId: 'default', data: { ...base, state: 'queued', attempt: 0, agentId: null } },
    { type: 'task.dispatched', ts, tenantId: 'default', data: { ...base, state: 'dispatched', attempt: 1, agentId, queueWaitMs } },
    { type: 'task.running', ts, tenantId: 'default', data: { ...base, state: 'running', attempt: 1, agentId } },
    {
      type: 'task.succeeded',
      ts,
      tenantId: 'default',
      data: {
        ...base,
        state: 'succeeded',
        attempt: 1,
        agentId,
        queueWaitMs,
        runMs,
        usage: { tokensIn: 300, tokensOut: 120, costUsd: 0.00033, provider: PROVIDERS[n % PROVIDERS.length], model: 'sim-1' },
        totalMs: queueWaitMs + runMs + 2,
        traceparent: `00-${taskId.replace(/-/g, '')}-${taskId.slice(0, 8)}${taskId.slice(9, 13)}${taskId.slice(14, 18)}-01`,
        deadline: null,
        createdAt: new Date(at - runMs - queueWaitMs).toISOString(),
        pool: null,
        attempts: 1,
      },
    },
  ];
}

/** Publishes `tasks` tasks' events in messages of `batch` events, up to 64 acks in flight. */
async function publishTasks(bus: MeshBus, first: number, tasks: number, batch: number): Promise<void> {
  const perMessage = Math.max(1, Math.floor(batch / 4));
  const inflight = new Set<Promise<unknown>>();
  for (let i = 0; i < tasks; i += perMessage) {
    const events: MeshEventDto[] = [];
    const at = Date.now();
    for (let k = i; k < Math.min(tasks, i + perMessage); k++) events.push(...taskEvents(first + k, at));
    const p = bus.publishDurable(EventMessages.tasks, { source: 'coordinator', events }, { msgId: randomUUID() });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (inflight.size >= 64) await Promise.race(inflight);
  }
  await Promise.all(inflight);
}

/** Samples the optimizer inserted so far (its Prometheus counter: cheaper than count(*)). */
async function ingested(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /swarm_optimizer_samples_total\{effect="inserted"[^}]*\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

function pgServerCpu(databaseUrl: string): () => number | undefined {
  const postmaster = listenerPid(Number(new URL(databaseUrl).port || 5432));
  return () => {
    if (!postmaster) return undefined;
    let s = 0;
    for (const pid of withDescendants(postmaster)) s += processCpuS(pid) ?? 0;
    return s;
  };
}

export async function runIngestBench(o: IngestOptions): Promise<number> {
  const say = o.quiet ? (): void => {} : (s: string): void => void process.stdout.write(`${s}\n`);
  const note = o.quiet ? (): void => {} : (s: string): void => void process.stderr.write(`[bench:ingest] ${s}\n`);
  const namespace = randomNamespace('benchin');
  const nc = await connectMesh({ servers: testNatsUrl(), name: `bench-ingest:${namespace}` });
  const bus = new MeshBus({ nc, identity: 'coordinator', namespace });
  let db: TestDatabase | undefined;
  let optimizer: ServiceProcess | undefined;
  const [load1] = loadavg();
  say(
    `Swarm Mesh ingestion bench — ${cpus().length} CPUs, load average ${load1?.toFixed(2)}, Node ${process.version}, namespace ${namespace}`,
  );
  try {
    db = await createTestDatabase({ prefix: 'swarm_bench_ingest' });
    await ensureStream(bus, { name: STREAMS.EVENTS, subjects: [EVENTS_WILDCARD], retention: 'limits', maxAgeMs: 3_600_000 });
    const pgCpu = pgServerCpu(db.url);

    // ── 1. backlog drain ─────────────────────────────────────────────────────────────────
    note(`publishing ${o.samples} tasks (${o.samples * 4} events, ${o.batch} per message)…`);
    const p0 = performance.now();
    await publishTasks(bus, 0, o.samples, o.batch);
    const publishS = (performance.now() - p0) / 1000;
    note(`published in ${publishS.toFixed(1)} s; starting the optimizer…`);
    optimizer = await startServiceProcess('performance-optimizer', {
      namespace,
      databaseUrl: db.url,
      env: {
        LOG_LEVEL: 'warn',
        OPTIMIZER_ANALYZE_INTERVAL_MS: '0',
        ...(o.trace ? {} : { OTEL_SDK_DISABLED: 'true' }),
        ...(o.profile
          ? {
              NODE_OPTIONS: `${process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : ''}--require ${join(__dirname, 'cpu-profiler.js')}`,
              BENCH_CPU_PROFILE: o.profile,
            }
          : {}),
      },
      readyTimeoutMs: 90_000,
    });
    if (o.profile) process.kill(optimizer.pid, 'SIGUSR2');
    const proc = procAvailable();
    const optCpu0 = proc ? processCpuS(optimizer.pid) : undefined;
    const pg0 = pgCpu();
    const t0 = performance.now();
    let firstAt: number | undefined;
    for (;;) {
      const n = await ingested(optimizer.url);
      if (n > 0 && firstAt === undefined) firstAt = performance.now();
      if (n >= o.samples) break;
      if (performance.now() - t0 > 600_000) throw new Error(`only ${n} of ${o.samples} samples ingested in 10 min`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const drainS = (performance.now() - t0) / 1000;
    if (o.profile) process.kill(optimizer.pid, 'SIGUSR2');
    const optCpu = proc && optCpu0 !== undefined ? processCpuS(optimizer.pid)! - optCpu0 : undefined;
    const pgCpuS = pg0 !== undefined ? pgCpu()! - pg0 : undefined;
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    const stored = Number((await pg.query<{ n: string }>('SELECT count(*) AS n FROM performance.execution_samples')).rows[0]!.n);
    const rollupRows = Number((await pg.query<{ n: string }>('SELECT count(*) AS n FROM performance.sample_rollups')).rows[0]!.n);
    const backlogRate = o.samples / drainS;
    say('');
    say(`Backlog: ${o.samples} tasks' events drained by a fresh optimizer (consumer start included)`);
    say(
      table([
        ['samples', 'seconds', 'samples/s', 'optimizer CPU s / 1k', 'postgres CPU s / 1k', 'rows stored', 'rollup rows'],
        [
          o.samples,
          round(drainS, 2),
          round(backlogRate, 0),
          optCpu === undefined ? null : round((optCpu / o.samples) * 1000, 3),
          pgCpuS === undefined ? null : round((pgCpuS / o.samples) * 1000, 3),
          stored,
          rollupRows,
        ],
      ]),
    );

    // ── 2. paced ─────────────────────────────────────────────────────────────────────────
    let paced: { offered: number; achieved: number; maxLag: number; catchUpMs: number; tasks: number } | undefined;
    if (o.rate > 0 && o.durationS > 0) {
      const tasks = Math.round(o.rate * o.durationS);
      note(`paced: ${o.rate} tasks/s for ${o.durationS} s (${tasks} tasks) while the optimizer runs…`);
      const already = await ingested(optimizer.url);
      let published = 0;
      let maxLag = 0;
      const start = performance.now();
      const tickMs = 50;
      let lastPoll = 0;
      while (published < tasks) {
        const due = Math.min(tasks, Math.floor(((performance.now() - start) / 1000) * o.rate));
        if (due > published) {
          await publishTasks(bus, o.samples + published, due - published, o.batch);
          published = due;
        }
        if (performance.now() - lastPoll > 250) {
          lastPoll = performance.now();
          maxLag = Math.max(maxLag, published - ((await ingested(optimizer.url)) - already));
        }
        await new Promise((r) => setTimeout(r, tickMs));
      }
      const publishedAt = performance.now();
      let done = 0;
      for (;;) {
        done = (await ingested(optimizer.url)) - already;
        maxLag = Math.max(maxLag, published - done);
        if (done >= tasks) break;
        if (performance.now() - publishedAt > 300_000) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const end = performance.now();
      paced = {
        offered: o.rate,
        achieved: done / ((end - start) / 1000),
        maxLag,
        catchUpMs: end - publishedAt,
        tasks,
      };
      say('');
      say(`Paced: ${o.rate} tasks/s offered for ${o.durationS} s`);
      say(
        table([
          ['tasks', 'offered/s', 'ingested/s', 'largest backlog (samples)', 'catch-up after last publish (ms)'],
          [tasks, o.rate, round(paced.achieved, 0), paced.maxLag, round(paced.catchUpMs, 0)],
        ]),
      );
    }
    await pg.end();
    if (o.profile) {
      await new Promise((r) => setTimeout(r, 500));
      say('');
      say(formatProfileSummary(summarizeProfile(o.profile, 30)));
    }
    say('');
    say(
      `Ingestion capacity ${Math.round(backlogRate)} samples/s = ${round(backlogRate / MESH_TASK_RATE_REFERENCE, 1)}× the mesh bench's ~${MESH_TASK_RATE_REFERENCE} tasks/s` +
        ` (one sample per finished attempt).`,
    );
    process.stdout.write(
      `${JSON.stringify({
        ingest_samples: o.samples,
        ingest_samples_per_s: round(backlogRate, 0),
        ingest_seconds: round(drainS, 2),
        ingest_optimizer_cpu_s_per_1k: optCpu === undefined ? null : round((optCpu / o.samples) * 1000, 3),
        ingest_postgres_cpu_s_per_1k: pgCpuS === undefined ? null : round((pgCpuS / o.samples) * 1000, 3),
        ingest_events_per_message: o.batch,
        paced_offered_per_s: paced?.offered ?? null,
        paced_ingested_per_s: paced ? round(paced.achieved, 0) : null,
        paced_max_backlog: paced?.maxLag ?? null,
        paced_catch_up_ms: paced ? round(paced.catchUpMs, 0) : null,
        mesh_task_rate_reference_per_s: MESH_TASK_RATE_REFERENCE,
        ratio: round(backlogRate / MESH_TASK_RATE_REFERENCE, 2),
      })}\n`,
    );
    return 0;
  } finally {
    await optimizer?.stop(10_000).catch(() => undefined);
    await cleanupNamespace(bus).catch(() => undefined);
    await bus.close().catch(() => undefined);
    await db?.drop().catch(() => undefined);
  }
}

export async function ingestMain(argv: readonly string[]): Promise<number> {
  let o: IngestOptions;
  try {
    o = parseIngestOptions(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(INGEST_HELP);
    return 0;
  }
  try {
    return await runIngestBench(o);
  } catch (err) {
    process.stderr.write(`[bench:ingest] failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
