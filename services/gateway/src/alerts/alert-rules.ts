import { type AlertKind, type AlertRuleDto, type MeshEventDto, ValidationError } from '@swarm-mesh/contracts';

/** A rule's verdict on one event: fire (with what to say), or count it towards a window. */
export type Observation =
  | { kind: 'fire'; subject: string; title: string; message: string; data: Record<string, unknown> }
  | { kind: 'count'; failure: boolean }
  | null;

const DEFAULT_THRESHOLD: Record<AlertKind, number | null> = {
  dead_letter_growth: 1,
  agent_died: null,
  error_rate: 0.5,
  pool_exhausted: null,
  regression_detected: null,
  budget_near_limit: 0.9,
  sla_missed: null,
};

/** What a kind's threshold means and the values it may take; null: the kind uses none (any value is ignored). */
const THRESHOLD_RANGE: Record<AlertKind, { meaning: string; min: number; max: number; integer: boolean } | null> = {
  dead_letter_growth: { meaning: 'a count of dead-lettered tasks', min: 1, max: 1e12, integer: true },
  agent_died: null,
  error_rate: { meaning: 'a ratio of failed attempts', min: 0, max: 1, integer: false },
  pool_exhausted: null,
  regression_detected: null,
  budget_near_limit: { meaning: 'a ratio of the budget limit', min: 0, max: 1, integer: false },
  sla_missed: { meaning: 'a duration in ms', min: 0, max: 1e12, integer: false },
};

/**
 * Refuses a threshold outside its kind's range (400 VALIDATION_FAILED on `threshold`): a rule
 * that could never fire, or one that would fire on everything, is a mistake to report at once.
 * null or undefined (the kind's default) always passes.
 */
export function checkThreshold(kind: AlertKind, threshold: number | null | undefined): void {
  if (threshold === undefined || threshold === null) return;
  const range = THRESHOLD_RANGE[kind];
  // kinds that fire on each event use no threshold: a value is kept and ignored, as it always was
  if (range === null) return;
  if (threshold < range.min || threshold > range.max || (range.integer && !Number.isInteger(threshold))) {
    const message = `${kind}: threshold is ${range.meaning}, ${range.integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}; got ${threshold}`;
    throw new ValidationError(`threshold: ${message}`, [{ path: 'threshold', message, constraint: 'thresholdRange' }]);
  }
}

/** Fewest finished attempts in the window before error_rate judges. */
export const ERROR_RATE_MIN_SAMPLES = 10;

export function thresholdOf(rule: AlertRuleDto): number | null {
  return rule.threshold ?? DEFAULT_THRESHOLD[rule.kind];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined;
}

/** What an event means for a rule of its tenant (pure: tested without servers). */
export function observe(rule: AlertRuleDto, e: MeshEventDto): Observation {
  const d = e.data;
  const threshold = thresholdOf(rule);
  switch (rule.kind) {
    case 'dead_letter_growth':
      return e.type === 'task.dead_lettered' ? { kind: 'count', failure: true } : null;
    case 'error_rate':
      if (e.type === 'task.succeeded') return { kind: 'count', failure: false };
      if (e.type === 'task.retry_scheduled' || e.type === 'task.dead_lettered' || e.type === 'task.timed_out')
        return { kind: 'count', failure: true };
      return null;
    case 'agent_died': {
      const died = (e.type === 'agent.state_changed' && d.to === 'dead') || e.type === 'agent.died';
      if (!died) return null;
      const agent = str(d.agentId) ?? 'unknown';
      return {
        kind: 'fire',
        subject: agent,
        title: `Agent ${agent} died`,
        message: `Agent ${agent} stopped heart-beating and was declared dead.`,
        data: { ...d },
      };
    }
    case 'pool_exhausted': {
      if (e.type !== 'pool.exhausted' && e.type !== 'resource.pool_exhausted') return null;
      const pool = str(d.poolId) ?? str(d.pool) ?? 'unknown';
      return {
        kind: 'fire',
        subject: pool,
        title: `Pool ${pool} exhausted`,
        message: `Resource pool ${pool} has no capacity left.`,
        data: { ...d },
      };
    }
    case 'regression_detected': {
      if (e.type !== 'performance.regression_detected' && e.type !== 'regression.detected') return null;
      const what = [str(d.capability), str(d.provider), str(d.agentId), str(d.metric)].filter(Boolean).join(' / ') || 'unknown';
      return {
        kind: 'fire',
        subject: what,
        title: `Regression detected: ${what}`,
        message: `Performance regression on ${what}${str(d.baseline) !== undefined ? ` (baseline ${str(d.baseline)}, now ${str(d.current) ?? '?'})` : ''}.`,
        data: { ...d },
      };
    }
    case 'budget_near_limit': {
      const budget = str(d.budgetId) ?? str(d.poolId) ?? 'unknown';
      const ratio =
        typeof d.ratio === 'number'
          ? d.ratio
          : typeof d.used === 'number' && typeof d.limit === 'number' && d.limit > 0
            ? d.used / d.limit
            : undefined;
      const fires =
        e.type === 'budget.near_limit' || (e.type === 'budget.usage' && ratio !== undefined && threshold !== null && ratio >= threshold);
      if (!fires) return null;
      const pct = ratio !== undefined ? `${Math.round(ratio * 100)}%` : 'near its limit';
      return {
        kind: 'fire',
        subject: budget,
        title: `Budget ${budget} at ${pct}`,
        message: `Cost budget ${budget} reached ${pct} of its limit.`,
        data: { ...d },
      };
    }
    case 'sla_missed': {
      const task = str(d.taskId) ?? 'unknown';
      if (e.type === 'task.sla_missed') {
        return {
          kind: 'fire',
          subject: 'sla',
          title: `Task ${task} missed its SLA`,
          message: `Task ${task} missed its deadline.`,
          data: { ...d },
        };
      }
      if (e.type === 'task.succeeded' && threshold !== null && typeof d.totalMs === 'number' && d.totalMs > threshold) {
        return {
          kind: 'fire',
          subject: 'sla',
          title: `Task ${task} missed its SLA`,
          message: `Task ${task} took ${d.totalMs} ms (SLA ${threshold} ms).`,
          data: { ...d },
        };
      }
      return null;
    }
    default:
      return null;
  }
}

/** A counting rule's sliding window. */
export class SlidingWindow {
  private readonly items: Array<{ at: number; failure: boolean }> = [];

  add(at: number, failure: boolean): void {
    this.items.push({ at, failure });
  }

  prune(now: number, windowMs: number): void {
    let i = 0;
    while (i < this.items.length && this.items[i]!.at <= now - windowMs) i++;
    if (i > 0) this.items.splice(0, i);
  }

  clear(): void {
    this.items.length = 0;
  }

  get failures(): number {
    return this.items.reduce((n, x) => n + (x.failure ? 1 : 0), 0);
  }

  get total(): number {
    return this.items.length;
  }
}

/** Whether a counting rule's window crossed its threshold; the alert text when it did. */
export function judge(rule: AlertRuleDto, w: SlidingWindow): { title: string; message: string; data: Record<string, unknown> } | null {
  const threshold = thresholdOf(rule) ?? 1;
  const secs = Math.round(rule.windowMs / 1000);
  if (rule.kind === 'dead_letter_growth') {
    const n = w.failures;
    if (n < threshold) return null;
    return {
      title: `${n} task${n === 1 ? '' : 's'} dead-lettered`,
      message: `${n} task${n === 1 ? ' was' : 's were'} dead-lettered in the last ${secs} s (threshold ${threshold}).`,
      data: { count: n, windowMs: rule.windowMs, threshold },
    };
  }
  if (rule.kind === 'error_rate') {
    if (w.total < ERROR_RATE_MIN_SAMPLES) return null;
    const rate = w.failures / w.total;
    if (rate < threshold) return null;
    return {
      title: `Error rate ${Math.round(rate * 100)}%`,
      message: `${w.failures} of ${w.total} attempts failed in the last ${secs} s (threshold ${Math.round(threshold * 100)}%).`,
      data: { failures: w.failures, total: w.total, rate, windowMs: rule.windowMs, threshold },
    };
  }
  return null;
}
