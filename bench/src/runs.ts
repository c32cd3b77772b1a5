/**
 * The two measured runs: a closed batch of N tasks (throughput) and an open-loop fixed rate of
 * single submissions (latency at a given load). Both time a task from the moment its request
 * was *sent* (the stricter choice: the gateway's and coordinator's submit path is included) to
 * the moment the bench *observes* its task.succeeded event on the EVENTS stream.
 */
import type { SubmitTaskDto } from '@swarm-mesh/contracts';
import type { TaskSubmitter } from './http';
import type { CpuWindow } from './procfs';
import type { CoordinatorLoopStats, CoordinatorWindow } from './prom';
import { type LatencySummary, summarize } from './stats';
import type { CompletionTracker } from './tracker';

export type CpuResult = Awaited<ReturnType<CpuWindow['stop']>>;

const noopTask = (): SubmitTaskDto => ({ capability: 'infra.noop', input: {} });

function progress(log: (s: string) => void, fn: () => string, everyMs = 2000): () => void {
  const t = setInterval(() => log(fn()), everyMs);
  return () => clearInterval(t);
}

export interface ThroughputResult {
  tasks: number;
  ids: Set<string>;
  completed: number;
  missing: number;
  missingSample: string[];
  /** Seconds from the first batch sent to the last completion observed. */
  wallS: number;
  tasksPerS: number;
  /** Seconds until the last batch was accepted (201). */
  submitS: number;
  latency: LatencySummary;
  /** Per batch request: send → 201. */
  batchAccept: LatencySummary;
  cpu: CpuResult | undefined;
  loop: CoordinatorLoopStats | undefined;
  otherEvents: Record<string, number>;
}

/**
 * Submits `n` tasks in batches of `chunk`, `inflight` requests at a time, and waits (up to
 * `timeoutMs` after the last submit) until every one of them succeeded.
 */
export async function runThroughput(args: {
  client: TaskSubmitter;
  tracker: CompletionTracker;
  n: number;
  chunk: number;
  inflight: number;
  timeoutMs: number;
  cpu?: CpuWindow;
  loop?: CoordinatorWindow;
  log: (s: string) => void;
  label?: string;
  /** One task per request (POST /tasks), `inflight` clients in a closed loop; `chunk` is ignored. */
  single?: boolean;
}): Promise<ThroughputResult> {
  const { client, tracker, n } = args;
  const chunk = args.single ? 1 : args.chunk;
  const sizes: number[] = [];
  for (let left = n; left > 0; left -= chunk) sizes.push(Math.min(chunk, left));
  const bodies = sizes.map((k) => Array.from({ length: k }, noopTask));
  const sentAt = new Map<string, number>();
  const ids = new Set<string>();
  const accept: number[] = [];
  let next = 0;
  let submitted = 0;
  const stopProgress = progress(
    args.log,
    () => `${args.label ?? 'throughput'}: ${submitted}/${n} accepted, ${ids.size - tracker.pending}/${ids.size} of those completed`,
  );
  await args.loop?.start();
  await args.cpu?.start();
  const t0 = performance.now();
  try {
    const worker = async (): Promise<void> => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const sent = performance.now();
        const reply = args.single ? [await client.submitOne(body[0]!)] : await client.submitBatch(body);
        accept.push(performance.now() - sent);
        if (reply.length !== body.length) throw new Error(`batch of ${body.length} answered with ${reply.length} tasks`);
        for (const t of reply) {
          sentAt.set(t.id, sent);
          ids.add(t.id);
        }
        submitted += reply.length;
        tracker.expect(reply.map((t) => t.id));
      }
    };
    await Promise.all(Array.from({ length: Math.min(args.inflight, bodies.length) }, worker));
    const submitS = (performance.now() - t0) / 1000;
    const done = await tracker.waitUntilDone(args.timeoutMs);
    const cpu = await args.cpu?.stop();
    const loop = await args.loop?.stop();
    const missingIds = done ? [] : tracker.pendingIds();
    tracker.clearPending();
    const latencies: number[] = [];
    let last = t0;
    for (const id of ids) {
      const at = tracker.completedAt.get(id);
      if (at === undefined) continue;
      latencies.push(at - sentAt.get(id)!);
      if (at > last) last = at;
    }
    const wallS = (last - t0) / 1000;
    return {
      tasks: n,
      ids,
      completed: latencies.length,
      missing: n - latencies.length,
      missingSample: missingIds.slice(0, 5),
      wallS,
      tasksPerS: latencies.length === n ? n / wallS : NaN,
      submitS,
      latency: summarize(latencies),
      batchAccept: summarize(accept),
      cpu,
      loop,
      otherEvents: tracker.otherFor(ids),
    };
  } finally {
    stopProgress();
  }
}

export interface RateResult {
  offeredPerS: number;
  durationS: number;
  scheduled: number;
  accepted: number;
  submitErrors: number;
  firstSubmitError: string | undefined;
  completed: number;
  missing: number;
  ids: Set<string>;
  /** scheduled send time → task.succeeded observed. */
  latency: LatencySummary;
  /** scheduled send time → 201. */
  accept: LatencySummary;
  /** Where the latency goes: consecutive segments between the task's events (coordinator tick times). */
  stages: Array<{ name: string; latency: LatencySummary }>;
  /** How late the bench itself issued requests (event-loop lag; catch-up sends them in a burst). */
  issueLagMaxMs: number;
  issuedPerS: number;
  /** Completions per second from the first to the last completion. */
  achievedPerS: number;
  /** Requests sent but whose task had not completed when the schedule ended (unanswered or running). */
  backlogAtEnd: number;
  /** Latency by second of the schedule (scheduled send time). */
  perSecond: Array<{ second: number; tasks: number; p50: number; p99: number; max: number }>;
  /** Median latency of the first and the last fifth of the schedule. */
  earlyP50: number;
  lateP50: number;
  fellBehind: boolean;
  behindReasons: string[];
  cpu: CpuResult | undefined;
  loop: CoordinatorLoopStats | undefined;
  otherEvents: Record<string, number>;
}

/** Largest rate run whose latency is split by stage (the split keeps a few numbers per task). */
const MAX_STAGE_TASKS = 100_000;

/**
 * Open loop: request i is due at start + i/rate and is sent then, whatever happened to the
 * earlier ones (a 1 ms interval timer issues everything due, catching up after a stall).
 */
export async function runRate(args: {
  client: TaskSubmitter;
  tracker: CompletionTracker;
  rate: number;
  durationS: number;
  timeoutMs: number;
  cpu?: CpuWindow;
  loop?: CoordinatorWindow;
  log: (s: string) => void;
}): Promise<RateResult> {
  const { client, tracker, rate } = args;
  const total = Math.max(1, Math.round(rate * args.durationS));
  const intervalMs = 1000 / rate;
  const scheduledAt = new Map<string, number>();
  const ids = new Set<string>();
  const acceptMs: number[] = [];
  const pendingSends = new Set<Promise<void>>();
  let sent = 0;
  let accepted = 0;
  let errors = 0;
  let firstError: string | undefined;
  let issueLagMax = 0;
  let lastIssue = 0;
  const stopProgress = progress(args.log, () => `rate: ${sent}/${total} sent, ${accepted} accepted, ${tracker.pending} in flight`);
  await args.loop?.start();
  await args.cpu?.start();
  // the per-stage split keeps a few numbers per task: not on soak-sized runs
  if (total <= MAX_STAGE_TASKS) tracker.stages = new Map();
  const start = performance.now() + 5;
  try {
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        const due = Math.min(total, Math.floor((now - start) / intervalMs) + 1);
        while (sent < due) {
          const scheduled = start + sent * intervalMs;
          sent++;
          issueLagMax = Math.max(issueLagMax, now - scheduled);
          lastIssue = now;
          const p = client.submitOne(noopTask()).then(
            (task) => {
              acceptMs.push(performance.now() - scheduled);
              accepted++;
              scheduledAt.set(task.id, scheduled);
              ids.add(task.id);
              tracker.expect([task.id]);
            },
            (err: unknown) => {
              errors++;
              firstError ??= (err as Error).message;
            },
          );
          pendingSends.add(p);
          void p.finally(() => pendingSends.delete(p));
        }
        if (sent >= total) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(tick, 1);
    });
    // sent but not completed yet: still in the submit path, or accepted and not finished
    const backlogAtEnd = total - (accepted - tracker.pending);
    await Promise.all([...pendingSends]);
    const done = await tracker.waitUntilDone(args.timeoutMs);
    const cpu = await args.cpu?.stop();
    const loop = await args.loop?.stop();
    if (!done) tracker.clearPending();
    const rows: Array<[number, number]> = [];
    let first = Infinity;
    let last = -Infinity;
    for (const id of ids) {
      const at = tracker.completedAt.get(id);
      if (at === undefined) continue;
      const s = scheduledAt.get(id)!;
      rows.push([s, at - s]);
      if (at > last) last = at;
      if (at < first) first = at;
    }
    rows.sort((a, b) => a[0] - b[0]);
    const stages = stageBreakdown(ids, scheduledAt, tracker);
    tracker.stages = undefined;
    const bySecond = new Map<number, number[]>();
    for (const [sched, lat] of rows) {
      const sec = Math.floor((sched - start) / 1000);
      let list = bySecond.get(sec);
      if (!list) bySecond.set(sec, (list = []));
      list.push(lat);
    }
    const perSecond = [...bySecond.entries()].map(([second, lats]) => {
      const l = summarize(lats);
      return { second, tasks: l.count, p50: l.p50, p99: l.p99, max: l.max };
    });
    const fifth = Math.max(1, Math.floor(rows.length / 5));
    const earlyP50 = summarize(rows.slice(0, fifth).map((r) => r[1])).p50;
    const lateP50 = summarize(rows.slice(-fifth).map((r) => r[1])).p50;
    // completions per second between the first and the last completion: equals the offered rate
    // when the mesh keeps up, whatever the (constant part of the) latency
    const achievedPerS = rows.length > 1 ? (rows.length - 1) / ((last - first) / 1000) : NaN;
    const reasons: string[] = [];
    if (errors > 0) reasons.push(`${errors} submissions failed`);
    if (achievedPerS < 0.95 * rate) reasons.push(`completed ${achievedPerS.toFixed(0)}/s < 95% of the offered ${rate}/s`);
    if (backlogAtEnd > Math.max(50, rate)) reasons.push(`${backlogAtEnd} tasks (> 1 s of work) not completed when the schedule ended`);
    if (lateP50 > 2 * earlyP50 + 50) reasons.push(`median latency grew from ${earlyP50.toFixed(0)} ms to ${lateP50.toFixed(0)} ms`);

    return {
      offeredPerS: rate,
      durationS: args.durationS,
      scheduled: total,
      accepted,
      submitErrors: errors,
      firstSubmitError: firstError,
      completed: rows.length,
      missing: total - rows.length,
      ids,
      latency: summarize(rows.map((r) => r[1])),
      accept: summarize(acceptMs),
      stages,
      issueLagMaxMs: issueLagMax,
      issuedPerS: total / ((lastIssue - start + intervalMs) / 1000),
      achievedPerS,
      backlogAtEnd,
      perSecond,
      earlyP50,
      lateP50,
      fellBehind: reasons.length > 0,
      behindReasons: reasons,
      cpu,
      loop,
      otherEvents: tracker.otherFor(ids),
    };
  } finally {
    stopProgress();
  }
}

/**
 * Splits scheduled→seen into segments at the task's events. Event times are the coordinator's
 * tick start (`ts`, whole milliseconds): a segment ending at an event excludes that tick's commit.
 */
function stageBreakdown(ids: Set<string>, scheduledAt: Map<string, number>, tracker: CompletionTracker): RateResult['stages'] {
  // points: 0 scheduled, 1 queued, 2 dispatched, 3 running, 4 succeeded, 5 seen; a segment joins
  // two consecutive points the task has (no task.running when its start and result came together)
  const label: Record<string, string> = {
    '0-1': 'scheduled → created (HTTP, auth, audit write, to the coordinator)',
    '1-2': 'created → dispatched (admission)',
    '2-3': 'dispatched → running (commit, relay, agent pull, started report)',
    '3-4': 'running → succeeded (run, result publish, intake)',
    '2-4': 'dispatched → succeeded (commit, relay, agent, result, intake)',
    '4-5': 'succeeded → seen (commit, relay, EVENTS to the bench)',
  };
  const segs = new Map<string, number[]>();
  for (const id of ids) {
    const st = tracker.stages?.get(id);
    const seen = tracker.completedAt.get(id);
    const s = scheduledAt.get(id);
    if (!st || seen === undefined || s === undefined) continue;
    const points = [s, st.queued, st.dispatched, st.running, st.succeeded, seen];
    let prev = 0;
    for (let i = 1; i < points.length; i++) {
      if (points[i] === undefined) continue;
      const key = `${prev}-${i}`;
      let list = segs.get(key);
      if (!list) segs.set(key, (list = []));
      list.push(points[i]! - points[prev]!);
      prev = i;
    }
  }
  return [...segs.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([key, samples]) => ({ name: `${label[key] ?? key} (${samples.length})`, latency: summarize(samples) }));
}
