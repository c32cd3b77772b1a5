/**
 * `npm run bench`: tasks through the full Swarm Mesh path on a private mesh, a fixed-rate
 * latency run, per-process CPU and memory, and a raw JetStream + Postgres baseline. The last
 * line of stdout is one JSON object (CONTRACT.md, "Benchmark output"); everything else is for
 * people. Progress goes to stderr.
 */
import { MeshBus, connectMesh } from '@swarm-mesh/messaging';
import { cleanupNamespace, createTestDatabase, randomNamespace, testNatsUrl } from '@swarm-mesh/testing';
import { existsSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { BASELINE_FORMULA, type BaselineResult, runBaseline } from './baseline';
import { RestSubmitter, SdkSubmitter, type TaskSubmitter } from './http';
import { defaultProfileDir, startBenchMesh, type StartedMesh, waitForMeshReady } from './mesh';
import { type BenchOptions, HELP, parseOptions, UsageError } from './options';
import {
  CpuWindow,
  listenerPid,
  machineCpu,
  processCpuS,
  processMemory,
  type ProcessGroup,
  procAvailable,
  withDescendants,
} from './procfs';
import { createProfiler } from './cpu-profiler';
import { ingestMain } from './ingest';
import { formatProfileSummary, summarizeProfile } from './profile-top';
import { type CoordinatorLoopStats, CoordinatorWindow } from './prom';
import { type CpuResult, type RateResult, runRate, runThroughput, type ThroughputResult } from './runs';
import { round, table } from './stats';
import { type RssSampler, sampleRss, startIdleAgents } from './soak';
import { CompletionTracker } from './tracker';

const REPO_ROOT = resolve(__dirname, '..', '..');

/** Async clean-ups run in reverse order of registration, once, even on Ctrl-C. */
class Cleanup {
  private readonly steps: Array<{ name: string; fn: () => Promise<unknown> }> = [];
  private running: Promise<void> | undefined;

  add(name: string, fn: () => Promise<unknown>): void {
    this.steps.push({ name, fn });
  }

  run(log: (s: string) => void): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await step.fn();
        } catch (err) {
          log(`clean-up "${step.name}" failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.running;
  }
}

function natsPort(): number {
  try {
    return Number(new URL(testNatsUrl().split(',')[0]!.trim()).port || 4222);
  } catch {
    return 4222;
  }
}

function pgPort(url: string): number {
  try {
    return Number(new URL(url).port || 5432);
  } catch {
    return 5432;
  }
}

interface MemoryRow {
  name: string;
  pid: number;
  peakMb: number;
  rssMb: number;
}

async function run(o: BenchOptions): Promise<number> {
  const say = o.quiet ? (): void => {} : (s: string): void => void process.stdout.write(`${s}\n`);
  const note = o.quiet ? (): void => {} : (s: string): void => void process.stderr.write(`[bench] ${s}\n`);
  const cleanup = new Cleanup();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      process.stderr.write(`[bench] second ${signal}: exiting without finishing the clean-up\n`);
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`[bench] ${signal}: stopping processes and removing the namespace and database…\n`);
    void cleanup.run((s) => process.stderr.write(`[bench] ${s}\n`)).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // a closed pipe (`npm run bench | head`) must not kill the bench before it cleans up
  const ignore = (): void => {};
  process.stdout.on('error', ignore);
  process.stderr.on('error', ignore);
  // nor may a stray error: clean up, then fail
  const onCrash = (err: unknown): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`[bench] unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    void cleanup.run((m) => process.stderr.write(`[bench] ${m}\n`)).finally(() => process.exit(1));
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);

  try {
    return await measure(o, cleanup, say, note);
  } finally {
    await cleanup.run(note);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  }
}

/**
 * A fixed piece of CPU work like the mesh's (JSON in and out, small objects), timed in ms: the best
 * of three. On shared virtual machines the same work takes up to twice as long from one minute
 * to the next; printing it before and after lets runs taken at different times be compared.
 */
function calibrationMs(): number {
  const item = {
    id: '8b0a5b7e-3f2d-4c1e-9a6b-2d4f6e8a0c1b',
    capability: 'infra.noop',
    input: { n: 1, tags: ['a', 'b'] },
    priority: 'MEDIUM',
  };
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    let n = 0;
    for (let i = 0; i < 20_000; i++) {
      const copy = JSON.parse(JSON.stringify({ ...item, seq: i })) as { seq: number };
      n += copy.seq;
    }
    if (n < 0) throw new Error('unreachable');
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/**
 * CPU one timer wake-up of this process costs (µs of user+system time per wake-up), after
 * `intervalMs` of sleep. On virtual machines that halt an idle vCPU (and with tick-based CPU
 * accounting) a wake-up from idle can cost ten times a wake-up of a busy process: this is what
 * makes the CPU per task of a slow, open-loop run (every task wakes ~20 processes) so much
 * higher than in batches, and what differs most between machines.
 */
async function wakeupCpuUs(intervalMs: number, wakeups: number): Promise<number> {
  const t0 = process.cpuUsage();
  for (let i = 0; i < wakeups; i++) await new Promise((r) => setTimeout(r, intervalMs));
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / wakeups;
}

async function measure(o: BenchOptions, cleanup: Cleanup, say: (s: string) => void, note: (s: string) => void): Promise<number> {
  const started = performance.now();
  const speedBefore = calibrationMs();
  const profileDir = o.profile.length > 0 ? resolve(o.profileDir ?? defaultProfileDir(REPO_ROOT)) : undefined;
  const namespace = o.reuse ? (process.env.SWARM_NAMESPACE ?? '') : randomNamespace('bench');
  const [load1] = loadavg();
  // how busy the machine is right now (the load average lags by a minute)
  const before = machineCpu();
  await new Promise((r) => setTimeout(r, 500));
  const after = machineCpu();
  const busyPct = before && after ? (100 * (after.busyS - before.busyS)) / Math.max(1e-9, after.totalS - before.totalS) : undefined;
  say(
    `Swarm Mesh bench — ${cpus().length} CPUs (${busyPct === undefined ? '?' : busyPct.toFixed(0)}% busy before the start, ` +
      `load average ${load1?.toFixed(2)}), Node ${process.version}, ` +
      `${o.reuse ? `existing system at ${process.env.SWARM_URL ?? 'http://127.0.0.1:3000'}` : `private mesh, namespace ${namespace}`}`,
  );
  if ((busyPct ?? 0) > 20) {
    say(`  note: other work keeps the machine ${busyPct?.toFixed(0)}% busy; machine-wide CPU and throughput include it`);
  }
  say(`  machine speed: a fixed JSON workload took ${speedBefore.toFixed(1)} ms (lower is faster; compare runs only at similar speeds)`);
  const wakeIdleUs = await wakeupCpuUs(50, 20);
  const wakeBusyUs = await wakeupCpuUs(1, 200);
  say(
    `  wake-up cost: ${wakeIdleUs.toFixed(0)} µs of CPU per timer wake-up after 50 ms asleep, ${wakeBusyUs.toFixed(0)} µs every 1 ms ` +
      `(slow open-loop runs pay the first kind on every hop of a task)`,
  );

  const nc = await connectMesh({ servers: testNatsUrl(), name: `bench:${namespace || 'default'}` });
  const bus = new MeshBus({ nc, identity: 'client:bench', namespace });
  cleanup.add('close the bench NATS connection', () => bus.close());

  // ── baseline first: nothing of the mesh runs yet ────────────────────────────────────────
  let baseline: BaselineResult | undefined;
  if (o.baseline) {
    note(`baseline: ${o.tasks} JetStream messages and Postgres rows…`);
    const baseBus = new MeshBus({ nc, identity: 'client:bench', namespace: randomNamespace('benchbase') });
    const db = await createTestDatabase({ prefix: 'swarm_bench_base' });
    try {
      baseline = await runBaseline(baseBus, db.url, o.tasks);
    } finally {
      await cleanupNamespace(baseBus).catch(() => undefined);
      await db.drop().catch(() => undefined);
    }
  }

  // ── the mesh ────────────────────────────────────────────────────────────────────────────
  let mesh: StartedMesh | undefined;
  let gatewayUrl: string;
  let apiKey: string;
  if (o.reuse) {
    gatewayUrl = process.env.SWARM_URL ?? 'http://127.0.0.1:3000';
    apiKey = process.env.SWARM_API_KEY ?? '';
    if (!apiKey) throw new UsageError('--reuse needs SWARM_API_KEY (and SWARM_URL, SWARM_NAMESPACE if not the defaults)');
  } else {
    note('starting the mesh (5 services + demo-swarm)…');
    const partial: Partial<StartedMesh> = {};
    cleanup.add('drop the temp database', async () => partial.dropDatabase?.());
    cleanup.add('delete the namespace streams', async () => cleanupNamespace(bus, namespace));
    cleanup.add('stop the mesh processes', async () => partial.stopProcesses?.());
    mesh = await startBenchMesh(
      { namespace, agents: o.agents, concurrency: o.concurrency, trace: o.trace, profile: o.profile, profileDir, log: note },
      (m) => Object.assign(partial, m),
    );
    gatewayUrl = mesh.gatewayUrl;
    apiKey = mesh.apiKey;
  }
  const client: TaskSubmitter = o.submit === 'sdk' ? new SdkSubmitter(gatewayUrl, apiKey) : new RestSubmitter(gatewayUrl, apiKey);
  cleanup.add('close the HTTP client', async () => client.close());
  const { agentIds } = await waitForMeshReady(client, o.reuse ? 1 : o.agents, 90_000);
  note(`ready: ${agentIds.length} infra.noop agents (${agentIds.join(', ')})`);

  const tracker = new CompletionTracker(bus, o.validateEvents);
  await tracker.start();
  cleanup.add('stop the event consumer', () => tracker.stop());

  // ── what is measured: processes, grouped ────────────────────────────────────────────────
  const groups: ProcessGroup[] = [];
  /**
   * Runs a CHECKPOINT before each measured run, so every run starts at the same point of
   * Postgres's checkpoint cycle: right after one, each page a run touches first costs a full-page
   * image in the WAL; a checkpoint landing in the middle of a run instead made identical runs
   * differ by tens of percent. Needs a superuser (or pg_checkpoint); skipped with a note otherwise.
   */
  let settle = async (): Promise<void> => undefined;
  if (mesh) {
    const admin = new Client({ connectionString: mesh.databaseUrl });
    await admin.connect();
    cleanup.add('close the checkpoint connection', () => admin.end());
    settle = async () => {
      try {
        await admin.query('CHECKPOINT');
      } catch (err) {
        note(
          `CHECKPOINT before the measured runs is not possible (${(err as Error).message}); runs start wherever the checkpoint cycle is`,
        );
        settle = async () => undefined;
      }
    };
  }
  if (mesh && procAvailable()) {
    for (const p of mesh.processes) groups.push({ name: p.name, pids: () => (p.name === 'demo-swarm' ? withDescendants(p.pid) : [p.pid]) });
    const natsPid = listenerPid(natsPort());
    if (natsPid) groups.push({ name: 'nats-server', pids: () => [natsPid] });
    const postmaster = listenerPid(pgPort(mesh.databaseUrl));
    if (postmaster) groups.push({ name: 'postgres (whole server)', pids: () => withDescendants(postmaster) });
    const pg = new Client({ connectionString: mesh.databaseUrl });
    await pg.connect();
    cleanup.add('close the pg probe', () => pg.end());
    const dbPids = async (): Promise<number[]> =>
      (
        await pg.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')
      ).rows.map((r) => r.pid);
    groups.push({ name: 'postgres (bench db backends)', pids: dbPids, subset: true });
    // and per service (application_name), to see whose statements the database works for
    const apps = (
      await pg.query<{ app: string }>(
        `SELECT DISTINCT application_name AS app FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> '' ORDER BY 1`,
      )
    ).rows.map((r) => r.app);
    for (const app of apps) {
      groups.push({
        name: `postgres backends of ${app.split(':')[0]}`,
        subset: true,
        pids: async () =>
          (
            await pg.query<{ pid: number }>(
              'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1',
              [app],
            )
          ).rows.map((r) => r.pid),
      });
    }
  }
  groups.push({ name: 'bench (this process)', pids: () => [process.pid] });
  const window = (): CpuWindow | undefined => (procAvailable() ? new CpuWindow(groups) : undefined);
  const coordinatorProc = mesh?.processes.find((p) => p.name === 'coordinator');
  const loopWindow = (): CoordinatorWindow | undefined =>
    coordinatorProc ? new CoordinatorWindow(`${coordinatorProc.url}/metrics`) : undefined;

  const completeTimeoutMs = o.completeTimeoutS * 1000;
  let failed = false;

  // ── warm-up ─────────────────────────────────────────────────────────────────────────────
  if (o.warmup > 0) {
    note(`warm-up: ${o.warmup} tasks (not measured)…`);
    const w = await runThroughput({
      client,
      tracker,
      n: o.warmup,
      chunk: o.chunk,
      inflight: o.inflight,
      timeoutMs: completeTimeoutMs,
      log: note,
      label: 'warm-up',
    });
    if (w.missing > 0) {
      process.stderr.write(`[bench] warm-up: ${w.missing} of ${w.tasks} tasks did not complete within ${o.completeTimeoutS} s\n`);
      failed = true;
    }
  }

  // ── profiles cover the measured runs only ───────────────────────────────────────────────
  const selfProfiler = profileDir && o.profile.includes('bench') ? createProfiler(join(profileDir, 'bench.cpuprofile')) : undefined;
  let profiling = false;
  const toggleProfiles = (): void => {
    if (!profileDir) return;
    profiling = !profiling;
    mesh?.toggleProfiles();
    if (profiling) selfProfiler?.start();
    else selfProfiler?.stop();
  };
  await settle();
  if (!failed) toggleProfiles();

  // ── throughput ──────────────────────────────────────────────────────────────────────────
  let tp: ThroughputResult | undefined;
  const singles = o.mode === 'singles';
  if (o.mode !== 'rate' && !failed) {
    note(
      singles
        ? `singles: ${o.tasks} tasks, one POST /api/v1/tasks each, ${o.clients} clients in a closed loop, via ${o.submit}…`
        : `throughput: ${o.tasks} tasks, batches of ${o.chunk}, ${o.inflight} in flight, via ${o.submit}…`,
    );
    tp = await runThroughput({
      client,
      tracker,
      n: o.tasks,
      chunk: o.chunk,
      inflight: singles ? o.clients : o.inflight,
      single: singles,
      timeoutMs: completeTimeoutMs,
      cpu: window(),
      loop: loopWindow(),
      log: note,
    });
    if (tp.missing > 0) failed = true;
  }

  // ── the same throughput run with N idle agents connected ────────────────────────────────
  let tpIdle: ThroughputResult | undefined;
  let tpAfter: ThroughputResult | undefined;
  if (o.idleAgents > 0 && tp && !failed && !o.reuse) {
    note(`idle agents: connecting ${o.idleAgents} simulated agents (registered, heart-beating, no work)…`);
    const idle = await startIdleAgents(namespace, o.idleAgents, note);
    cleanup.add('stop the idle agents', () => idle.stop());
    if (procAvailable()) groups.push({ name: 'idle agents (simulated)', pids: () => [idle.pid] });
    /** The batch throughput run again, as the first one ran. */
    const again = async (label: string): Promise<ThroughputResult> => {
      const r = await runThroughput({
        client,
        tracker,
        n: o.tasks,
        chunk: o.chunk,
        inflight: o.inflight,
        timeoutMs: completeTimeoutMs,
        cpu: window(),
        loop: loopWindow(),
        log: note,
        label,
      });
      if (r.missing > 0) failed = true;
      return r;
    };
    note(`throughput again with ${o.idleAgents} idle agents connected…`);
    await settle();
    tpIdle = await again('with idle agents');
    await idle.stop();
    if (!failed) {
      // a control run after: the database has grown and autovacuum may have started since the
      // first run, so "with" is compared against the mean of the runs on either side of it
      note('throughput again without the idle agents (control for drift)…');
      await settle();
      tpAfter = await again('control after idle agents');
    }
  }

  // ── rate ────────────────────────────────────────────────────────────────────────────────
  let rssSampler: RssSampler | undefined;
  let rr: RateResult | undefined;
  let rateWarmupIds = new Set<string>();
  if ((o.mode === 'rate' || o.mode === 'both') && !failed) {
    note(`rate: ${o.rate}/s for ${o.durationS} s…`);
    if (tp) await settle();
    if (o.rateWarmupS > 0) {
      // the single-submit path warms up (JIT, pools, caches) before it is measured
      note(`rate warm-up: ${o.rate}/s for ${o.rateWarmupS} s (not measured)…`);
      const warm = await runRate({ client, tracker, rate: o.rate, durationS: o.rateWarmupS, timeoutMs: completeTimeoutMs, log: note });
      rateWarmupIds = warm.ids;
      if (warm.missing > 0 || warm.submitErrors > 0) {
        note(`rate warm-up: ${warm.missing} missing, ${warm.submitErrors} submit errors (${warm.firstSubmitError ?? '-'})`);
        failed = true;
      }
      await settle();
    }
    if (mesh && procAvailable() && o.rssEveryS > 0) rssSampler = sampleRss(mesh.processes, o.rssEveryS * 1000);
    rr = await runRate({
      client,
      tracker,
      rate: o.rate,
      durationS: o.durationS,
      timeoutMs: completeTimeoutMs,
      cpu: window(),
      loop: loopWindow(),
      log: note,
    });
    if (rr.missing > 0) failed = true;
  }
  const rss = rssSampler?.stop();

  if (profiling) toggleProfiles();

  // late duplicates: give the mesh a moment to emit anything it would emit twice
  await new Promise((r) => setTimeout(r, 1000));
  const ours = new Set<string>([...(tp?.ids ?? []), ...(tpIdle?.ids ?? []), ...(tpAfter?.ids ?? []), ...rateWarmupIds, ...(rr?.ids ?? [])]);
  let duplicates = 0;
  for (const id of ours) if ((tracker.succeededCount.get(id) ?? 0) > 1) duplicates++;
  const missing = (tp?.missing ?? 0) + (tpIdle?.missing ?? 0) + (tpAfter?.missing ?? 0) + (rr?.missing ?? 0);

  // ── memory, read before the processes stop ──────────────────────────────────────────────
  const memory: MemoryRow[] = [];
  if (mesh && procAvailable()) {
    for (const p of mesh.processes) {
      for (const pid of p.name === 'demo-swarm' ? withDescendants(p.pid) : [p.pid]) {
        const m = processMemory(pid);
        if (m) memory.push({ name: pid === p.pid ? p.name : `${p.name} child`, pid, ...m });
      }
    }
    const natsPid = listenerPid(natsPort());
    const natsMem = natsPid ? processMemory(natsPid) : undefined;
    if (natsPid && natsMem) memory.push({ name: 'nats-server (shared, lifetime peak)', pid: natsPid, ...natsMem });
  }
  const selfMem = processMemory(process.pid);
  if (selfMem) memory.push({ name: 'bench (this process)', pid: process.pid, ...selfMem });

  // ── stop the mesh now so that CPU profiles are written ──────────────────────────────────
  // (a service that died during the runs explains missing tasks: note it before everything stops)
  const diedDuringRuns = (mesh?.processes ?? []).filter((p) => p.exited()).map((p) => p.name);
  /** What the services said (they run at LOG_LEVEL=warn), for failed runs. */
  const sayServiceLogs = (): void => {
    if (diedDuringRuns.length > 0) say(`  EXITED during the runs: ${diedDuringRuns.join(', ')}`);
    for (const p of mesh?.processes ?? []) {
      const lines = p.logs().slice(-12);
      if (lines.length === 0) continue;
      say(`  last log lines of ${p.name}:`);
      for (const l of lines) say(`    ${l.slice(0, 400)}`);
    }
  };
  if (diedDuringRuns.length > 0) {
    note(`exited during the runs: ${diedDuringRuns.join(', ')}`);
    failed = true;
  }
  if (mesh) {
    await tracker.stop();
    await mesh.stopProcesses();
  }

  // ── report ──────────────────────────────────────────────────────────────────────────────
  const cpuPer1k = (cpu: CpuResult | undefined, n: number): number | undefined =>
    cpu?.machineBusyS === undefined ? undefined : cpu.machineBusyS / (n / 1000);
  const attributed = (cpu: CpuResult | undefined): number | undefined =>
    cpu ? cpu.groups.filter((g) => !g.subset).reduce((s, g) => s + g.cpuS, 0) : undefined;

  say('');
  say(
    o.reuse
      ? `Mesh: existing system, ${agentIds.length} healthy infra.noop agents registered`
      : `Mesh: 5 services + 1 demo-swarm process, ${o.agents} infra.noop agents × ${o.concurrency} slots`,
  );
  say(
    `      submit via ${o.submit === 'rest' ? 'REST (raw HTTP/1.1 keep-alive)' : 'SDK SwarmClient (fetch)'}${o.reuse ? '' : `; OpenTelemetry ${o.trace ? 'on' : 'off'}`}`,
  );
  say('      latency = task.succeeded seen on EVENTS by the bench − time its submit request was SENT (rate run: scheduled send time)');

  if (tp) {
    say('');
    say(
      singles
        ? `== Single submits: ${tp.tasks} tasks, one POST /api/v1/tasks each, ${o.clients} clients in a closed loop (warm-up ${o.warmup} before); submitted ${(tp.tasks / tp.submitS).toFixed(0)}/s`
        : `== Throughput: ${tp.tasks} tasks, POST /api/v1/tasks/batch × ${o.chunk}, ${o.inflight} requests in flight (warm-up ${o.warmup} before)`,
    );
    say(
      table([
        ['tasks/s', 'wall s', 'submitted in s', 'completed', 'missing', 'duplicates'],
        [tp.tasksPerS, tp.wallS, tp.submitS, tp.completed, tp.missing, duplicates],
      ]),
    );
    say(
      table([
        ['submit→complete ms', 'min', 'mean', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'max'],
        [
          'task',
          tp.latency.min,
          tp.latency.mean,
          tp.latency.p50,
          tp.latency.p90,
          tp.latency.p95,
          tp.latency.p99,
          tp.latency.p999,
          tp.latency.max,
        ],
        [
          singles ? 'submit 201 (send→accept)' : 'batch 201 (send→accept)',
          tp.batchAccept.min,
          tp.batchAccept.mean,
          tp.batchAccept.p50,
          tp.batchAccept.p90,
          tp.batchAccept.p95,
          tp.batchAccept.p99,
          tp.batchAccept.p999,
          tp.batchAccept.max,
        ],
      ]),
    );
    if (Object.keys(tp.otherEvents).length > 0) say(`  other task events seen: ${JSON.stringify(tp.otherEvents)}`);
    if (tp.missing > 0) {
      say(`  MISSING: ${tp.missing} tasks never reported task.succeeded (e.g. ${tp.missingSample.join(', ')})`);
      sayServiceLogs();
    }
  }

  if (rr) {
    say('');
    say(
      `== Fixed rate: ${rr.offeredPerS}/s offered for ${rr.durationS} s, open loop, single POST /api/v1/tasks` +
        (o.rateWarmupS > 0 ? ` (after ${o.rateWarmupS} s of the same load, not measured)` : ' (no warm-up)'),
    );
    say(
      table([
        ['scheduled', 'accepted', 'errors', 'completed', 'missing', 'issued/s', 'completed/s', 'not done at end', 'bench issue lag max ms'],
        [
          rr.scheduled,
          rr.accepted,
          rr.submitErrors,
          rr.completed,
          rr.missing,
          rr.issuedPerS,
          rr.achievedPerS,
          rr.backlogAtEnd,
          rr.issueLagMaxMs,
        ],
      ]),
    );
    say(
      table([
        ['latency ms', 'min', 'mean', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'max'],
        [
          'scheduled→complete',
          rr.latency.min,
          rr.latency.mean,
          rr.latency.p50,
          rr.latency.p90,
          rr.latency.p95,
          rr.latency.p99,
          rr.latency.p999,
          rr.latency.max,
        ],
        [
          'scheduled→201',
          rr.accept.min,
          rr.accept.mean,
          rr.accept.p50,
          rr.accept.p90,
          rr.accept.p95,
          rr.accept.p99,
          rr.accept.p999,
          rr.accept.max,
        ],
      ]),
    );
    if (rr.stages.length > 0) {
      say("  where it goes (segments between the task's events; an event's time is the start of its coordinator tick):");
      say(
        table([
          ['segment ms', 'p50', 'p90', 'p99', 'mean'],
          ...rr.stages.map((st) => [st.name, st.latency.p50, st.latency.p90, st.latency.p99, st.latency.mean]),
        ]),
      );
    }
    if (rr.perSecond.length > 1 && rr.perSecond.length <= 120) {
      say(
        table([
          ['second of the schedule', ...rr.perSecond.map((p) => String(p.second))],
          ['p50 ms', ...rr.perSecond.map((p) => p.p50)],
          ['p99 ms', ...rr.perSecond.map((p) => p.p99)],
        ]),
      );
    }
    say(`  median latency, first fifth → last fifth of the schedule: ${rr.earlyP50.toFixed(1)} → ${rr.lateP50.toFixed(1)} ms`);
    say(rr.fellBehind ? `  FELL BEHIND: ${rr.behindReasons.join('; ')}` : '  kept up with the offered rate');
    if (rr.issueLagMaxMs > 50) {
      say(
        `  note: the bench itself issued some requests up to ${rr.issueLagMaxMs.toFixed(0)} ms late (CPU contention); latency counts from the schedule`,
      );
    }
    if (rr.firstSubmitError) say(`  first submit error: ${rr.firstSubmitError}`);
    if (rr.firstSubmitError || rr.missing > 0) sayServiceLogs();
    if (Object.keys(rr.otherEvents).length > 0) say(`  other task events seen: ${JSON.stringify(rr.otherEvents)}`);
  }

  const idleRatio = tp && tpIdle ? tpIdle.tasksPerS / (tpAfter ? (tp.tasksPerS + tpAfter.tasksPerS) / 2 : tp.tasksPerS) : undefined;
  if (tp && tpIdle && idleRatio !== undefined) {
    say('');
    say(`== Throughput with ${o.idleAgents} idle agents connected (same run again; they register, heart-beat, get no work)`);
    say(
      table([
        ['run', 'tasks/s', 'p50 ms', 'p99 ms', 'missing'],
        ['1. without idle agents', tp.tasksPerS, tp.latency.p50, tp.latency.p99, tp.missing],
        [`2. with ${o.idleAgents} idle agents`, tpIdle.tasksPerS, tpIdle.latency.p50, tpIdle.latency.p99, tpIdle.missing],
        ...(tpAfter ? [['3. without (control)', tpAfter.tasksPerS, tpAfter.latency.p50, tpAfter.latency.p99, tpAfter.missing]] : []),
      ]),
    );
    say(`  with / without = ${idleRatio.toFixed(3)}${tpAfter ? ' (run 2 ÷ mean of runs 1 and 3)' : ''} (issue 9: within 10 %, i.e. ≥ 0.9)`);
  }
  if (rss && rss.rows.length > 0) {
    say('');
    say(
      `== Memory over the rate run: RSS sampled every ${o.rssEveryS} s (${rss.samples} samples; drift = last vs first after ` +
        'warm-up; trend = median of the last fifth vs median of the first fifth after warm-up)',
    );
    say(
      table([
        ['process', 'first MiB', 'min MiB', 'max MiB', 'last MiB', 'drift %', 'trend %'],
        ...rss.rows.map((r) => [r.name, r.first, r.min, r.max, r.last, r.driftPct, r.trendPct]),
      ]),
    );
    say(
      `  largest drift ${rss.maxDriftPct.toFixed(1)} %, largest trend ${rss.maxTrendPct.toFixed(1)} % ` +
        '(issue 9: flat within ±10 % over a 10-minute soak at 1,000 tasks/s)',
    );
  }

  const cpuSection = (title: string, cpu: CpuResult | undefined, n: number): void => {
    if (!cpu) return;
    say('');
    say(`== CPU, ${title}: ${cpu.wallS.toFixed(2)} s wall, ${n} tasks`);
    const rows: Array<Array<string | number | undefined>> = [['process', 'pids', 'CPU s', 'CPU s / 1k tasks', '% of one core']];
    for (const g of cpu.groups) {
      const name =
        g.name === 'postgres (bench db backends)' ? '  of which: backends of the bench database' : g.subset ? `    ${g.name}` : g.name;
      rows.push([name, g.processes, g.cpuS, g.cpuS / (n / 1000), (100 * g.cpuS) / cpu.wallS]);
    }
    const att = attributed(cpu)!;
    rows.push(['sum of the above', undefined, att, att / (n / 1000), (100 * att) / cpu.wallS]);
    if (cpu.machineBusyS !== undefined) {
      rows.push([
        'machine-wide busy (/proc/stat)',
        undefined,
        cpu.machineBusyS,
        cpu.machineBusyS / (n / 1000),
        (100 * cpu.machineBusyS) / cpu.wallS,
      ]);
      // per-process and machine counters are read a moment apart (10 ms ticks): never below 0
      const other = Math.max(0, cpu.machineBusyS - att);
      const label = mesh ? '  not attributed (other work on the machine)' : '  everything else (the system under test and any other work)';
      rows.push([label, undefined, other, other / (n / 1000), (100 * other) / cpu.wallS]);
    }
    say(table(rows));
    if (cpu.machineCapacityS !== undefined && cpu.machineBusyS !== undefined) {
      say(`  machine busy ${((100 * cpu.machineBusyS) / cpu.machineCapacityS).toFixed(0)}% of ${cpus().length} cores during the window`);
    }
  };
  if (tp) cpuSection(singles ? 'single-submit run' : 'throughput run', tp.cpu, tp.tasks);
  if (tpIdle) cpuSection(`throughput run with ${o.idleAgents} idle agents`, tpIdle.cpu, tpIdle.tasks);
  if (tpAfter) cpuSection('control run after the idle agents stopped', tpAfter.cpu, tpAfter.tasks);
  if (rr) cpuSection('rate run', rr.cpu, rr.completed);

  const loopRow = (name: string, l: CoordinatorLoopStats | undefined): Array<string | number> | undefined =>
    l && [
      name,
      l.ticks,
      (1000 * l.tickS) / Math.max(1, l.ticks),
      (1000 * l.commitS) / Math.max(1, l.commits),
      l.rows / Math.max(1, l.ticks),
      (100 * l.tickS) / l.wallS,
      (100 * l.commitS) / l.wallS,
    ];
  const loopRows = [loopRow('throughput run', tp?.loop), loopRow('rate run', rr?.loop)].filter((r) => r !== undefined);
  if (loopRows.length > 0) {
    say('');
    say('== Coordinator tick loop (its /metrics; one tick = one group commit, ticks run one at a time)');
    say(
      table([['window', 'ticks', 'mean tick ms', 'mean commit ms', 'rows / tick', 'tick busy % of wall', 'commit % of wall'], ...loopRows]),
    );
  }
  if (!mesh) say('\n(per-process CPU and memory omitted with --reuse: only machine-wide busy CPU and the bench process)');

  if (memory.length > 0) {
    say('');
    say('== Memory (at the end of the run)');
    say(table([['process', 'pid', 'peak RSS MiB (VmHWM)', 'RSS MiB'], ...memory.map((m) => [m.name, String(m.pid), m.peakMb, m.rssMb])]));
  }

  if (baseline) {
    say('');
    say(`== Raw baseline, no services (${baseline.messages} messages / rows)`);
    say(
      table([
        ['path', 'rate /s', 'detail'],
        ['JetStream publish (2000 acks in flight, msg ids)', baseline.jsPublishPerS, 'file stream, 1 replica'],
        ['JetStream publish + pull consume + ack each', baseline.jsPipelinePerS, `${baseline.jsSeconds.toFixed(2)} s, concurrent`],
        ['Postgres INSERT … unnest, batches of 500', baseline.pgInsertPerS, 'uuid PK, logged table'],
        ['Postgres UPDATE … FROM unnest, batches of 500', baseline.pgUpdatePerS, ''],
        ['Postgres insert + update per row', baseline.pgRowsPerS, `${baseline.pgSeconds.toFixed(2)} s`],
        ['baseline tasks/s', baseline.baselineTasksPerS, BASELINE_FORMULA],
      ]),
    );
    const mesh = tp?.tasksPerS ?? rr?.achievedPerS;
    if (mesh !== undefined) say(`  mesh / baseline = ${(mesh / baseline.baselineTasksPerS).toFixed(3)}`);
  }

  // ── profiles ────────────────────────────────────────────────────────────────────────────
  if (profileDir && existsSync(profileDir)) {
    const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
    say('');
    say(`== CPU profiles of the measured runs (V8 sampling profiler, 1 ms) in ${profileDir}`);
    for (const f of files.sort()) {
      try {
        say('');
        say(formatProfileSummary(summarizeProfile(join(profileDir, f), 25)));
      } catch (err) {
        say(`  ${f}: ${(err as Error).message}`);
      }
    }
    if (files.length === 0) say('  no profile was written (a process did not exit cleanly?)');
  }

  const speedAfter = calibrationMs();
  say('');
  say(`machine speed: the fixed JSON workload took ${speedBefore.toFixed(1)} ms before the runs, ${speedAfter.toFixed(1)} ms after`);

  // ── the contract line ───────────────────────────────────────────────────────────────────
  const main = tp ?? undefined;
  const tasks = main ? main.tasks : (rr?.scheduled ?? 0);
  const tasksPerS = main ? main.tasksPerS : rr?.achievedPerS;
  const lat = main ? main.latency : rr?.latency;
  const cpu = main ? main.cpu : rr?.cpu;
  const cpuN = main ? main.tasks : (rr?.completed ?? 0);
  const result: Record<string, unknown> = {
    tasks,
    tasks_per_s: round(tasksPerS, 1),
    p50_ms: round(lat?.p50, 1),
    p95_ms: round(lat?.p95, 1),
    p99_ms: round(lat?.p99, 1),
    cpu_s_per_1k: round(cpuPer1k(cpu, cpuN), 3),
    baseline_tasks_per_s: round(baseline?.baselineTasksPerS, 1),
    ratio: baseline && tasksPerS !== undefined ? round(tasksPerS / baseline.baselineTasksPerS, 3) : null,
    // extras (after the contract keys)
    mode: o.mode,
    measured: main ? (singles ? 'singles' : 'throughput') : 'rate',
    ...(singles && tp ? { clients: o.clients, submit_per_s: round(tp.tasks / tp.submitS, 1) } : {}),
    latency_from: 'request sent',
    submit: o.submit,
    agents: o.reuse ? agentIds.length : o.agents,
    concurrency: o.reuse ? null : o.concurrency,
    warmup: o.warmup,
    missing,
    duplicates,
    cpu_s_per_1k_attributed: round(cpu && mesh ? attributed(cpu)! / (cpuN / 1000) : undefined, 3),
    ...(rr
      ? {
          rate_offered: rr.offeredPerS,
          rate_duration_s: rr.durationS,
          rate_warmup_s: o.rateWarmupS,
          rate_achieved: round(rr.achievedPerS, 1),
          rate_p50_ms: round(rr.latency.p50, 1),
          rate_p90_ms: round(rr.latency.p90, 1),
          rate_p95_ms: round(rr.latency.p95, 1),
          rate_p99_ms: round(rr.latency.p99, 1),
          rate_max_ms: round(rr.latency.max, 1),
          rate_accept_p50_ms: round(rr.accept.p50, 1),
          rate_accept_p99_ms: round(rr.accept.p99, 1),
          rate_fell_behind: rr.fellBehind,
          rate_cpu_s_per_1k: round(cpuPer1k(rr.cpu, rr.completed), 3),
        }
      : {}),
    ...(tpIdle && tp
      ? {
          idle_agents: o.idleAgents,
          tasks_per_s_with_idle_agents: round(tpIdle.tasksPerS, 1),
          ...(tpAfter ? { tasks_per_s_idle_control: round(tpAfter.tasksPerS, 1) } : {}),
          idle_agents_ratio: round(idleRatio ?? 0, 3),
        }
      : {}),
    ...(rss && rss.rows.length > 0
      ? {
          rss_samples: rss.samples,
          rss_max_drift_pct: round(rss.maxDriftPct, 1),
          rss_drift_pct: Object.fromEntries(rss.rows.map((r) => [r.name, round(r.driftPct, 1)])),
          rss_max_trend_pct: round(rss.maxTrendPct, 1),
          rss_trend_pct: Object.fromEntries(rss.rows.map((r) => [r.name, round(r.trendPct, 1)])),
        }
      : {}),
    ...(baseline
      ? {
          baseline_js_msgs_per_s: round(baseline.jsPipelinePerS, 1),
          baseline_pg_rows_per_s: round(baseline.pgRowsPerS, 1),
          baseline_formula: BASELINE_FORMULA,
        }
      : {}),
    peak_rss_mb: Object.fromEntries(
      memory.filter((m) => !m.name.startsWith('nats-server')).map((m) => [m.name.split(' ')[0], round(m.peakMb, 1)]),
    ),
    bench_cpu_s: round(processCpuS(process.pid), 2),
    machine_speed_ms: { before: round(speedBefore, 1), after: round(speedAfter, 1) },
    wakeup_cpu_us: { after_50ms: round(wakeIdleUs, 0), every_1ms: round(wakeBusyUs, 0) },
    seconds: round((performance.now() - started) / 1000, 1),
  };
  const ok = !failed && missing === 0 && duplicates === 0;
  if (!ok) process.stderr.write(`[bench] FAILED: ${missing} tasks missing, ${duplicates} duplicated\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return ok ? 0 : 1;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  // `npm run bench -- ingest …`: the performance optimizer's ingestion alone (ingest.ts)
  if (argv[0] === 'ingest') return ingestMain(argv.slice(1));
  let opts: BenchOptions;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    return await run(opts);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    process.stderr.write(`[bench] failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main().then((code) => process.exit(code));
}
