import type { SwarmClient } from '@swarm-mesh/agent-sdk';
import { AGENT_DOMAINS, AGENT_STATES, PRIORITIES, type Priority, type SubmitTaskDto, TASK_STATES } from '@swarm-mesh/contracts';
import { isAbsolute, resolve } from 'node:path';
import { intOption, type OptionSpec, type ParsedArgs, strOption, UsageError } from './args';
import {
  agentDetails,
  agentsTable,
  deadLetterDetails,
  deadLettersTable,
  details,
  queuesTable,
  table,
  submittedTable,
  taskDetails,
  tasksTable,
} from './format';
import type { CliIO } from './io';
import type { RestCall } from './rest';
import { watchTask } from './watch';

/** What a command gets to work with. */
export interface CommandContext {
  name: string;
  args: string[];
  opts: ParsedArgs['options'];
  json: boolean;
  io: CliIO;
  client(): SwarmClient;
  /** JSON calls to routes the SDK client does not wrap (keys, flags, audit, alerts). */
  rest: RestCall;
}

export interface CommandDef {
  /** One or two words: `submit`, `agents get`. */
  name: string;
  /** Positional arguments as shown in usage: `<taskId>`. */
  params: string;
  summary: string;
  /** Extra help text. */
  help?: string;
  options: OptionSpec[];
  minArgs: number;
  maxArgs: number;
  run(ctx: CommandContext): Promise<number>;
}

const DAY_MS = 24 * 3600 * 1000;

function print(ctx: CommandContext, value: unknown, human: () => string): number {
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(value, null, 2)}\n` : human());
  return 0;
}

function nextPageHint(nextCursor: string | null): string {
  return nextCursor ? `(more: add --cursor ${nextCursor})\n` : '';
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string, command: string): T | undefined {
  if (typeof value !== 'string') return undefined;
  const s = value;
  if (!(allowed as readonly string[]).includes(s))
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}; got "${s}"`, command);
  return s as T;
}

function priorityArg(value: string, command: string): Priority {
  const p = value.toUpperCase();
  if (!(PRIORITIES as readonly string[]).includes(p))
    throw new UsageError(`priority must be one of ${PRIORITIES.join(', ')}; got "${value}"`, command);
  return p as Priority;
}

/** `JSON`, `@file` or `@-` (stdin), parsed. */
async function jsonArg(ctx: CommandContext, raw: string, what: string): Promise<unknown> {
  let text = raw;
  if (raw === '-' || raw.startsWith('@')) {
    const source = raw === '-' ? '-' : raw.slice(1);
    try {
      text = source === '-' ? await ctx.io.readStdin() : await ctx.io.readFile(isAbsolute(source) ? source : resolve(ctx.io.cwd, source));
    } catch (err) {
      throw new UsageError(`cannot read ${what} from ${source}: ${(err as Error).message}`, ctx.name);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`, ctx.name);
  }
}

const LIMIT: OptionSpec = { name: 'limit', type: 'string', placeholder: 'n', description: 'Page size (1-500, server default 50)' };
const CURSOR: OptionSpec = {
  name: 'cursor',
  type: 'string',
  placeholder: 'cursor',
  description: 'Page cursor from a previous page (nextCursor)',
};
const POLL: OptionSpec = { name: 'poll', type: 'string', placeholder: 'ms', description: 'Poll interval while watching (default 500)' };
const TIMEOUT: OptionSpec = { name: 'timeout', type: 'string', placeholder: 'ms', description: 'Give up waiting after this long (exit 1)' };

function watchOptions(ctx: CommandContext): { pollMs: number; timeoutMs?: number; json: boolean } {
  const pollMs = intOption(ctx.opts.poll, 'poll', 10, 60_000, ctx.name) ?? 500;
  const timeoutMs = intOption(ctx.opts.timeout, 'timeout', 1, 30 * DAY_MS, ctx.name);
  return { pollMs, json: ctx.json, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
}

async function buildTask(ctx: CommandContext): Promise<SubmitTaskDto> {
  const task: SubmitTaskDto = { capability: ctx.args[0]! };
  const input = strOption(ctx.opts.input);
  if (input !== undefined) {
    const parsed = await jsonArg(ctx, input, '--input');
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new UsageError('--input must be a JSON object', ctx.name);
    task.input = parsed as Record<string, unknown>;
  }
  const priority = strOption(ctx.opts.priority);
  if (priority !== undefined) task.priority = priorityArg(priority, ctx.name);
  const key = strOption(ctx.opts['idempotency-key']);
  if (key !== undefined) task.idempotencyKey = key;
  const maxAttempts = intOption(ctx.opts['max-attempts'], 'max-attempts', 1, 100, ctx.name);
  const backoff = strOption(ctx.opts.backoff);
  if (maxAttempts !== undefined || backoff !== undefined) {
    task.retry = {};
    if (maxAttempts !== undefined) task.retry.maxAttempts = maxAttempts;
    if (backoff !== undefined) {
      const parts = backoff.split(',').map((s) => s.trim());
      if (parts.some((p) => !/^\d+$/.test(p)))
        throw new UsageError(`--backoff must be comma-separated milliseconds (e.g. 100,200); got "${backoff}"`, ctx.name);
      task.retry.backoffMs = parts.map(Number);
    }
  }
  const labels = (ctx.opts.label as string[] | undefined) ?? [];
  if (labels.length > 0) {
    task.labels = {};
    for (const l of labels) {
      const eq = l.indexOf('=');
      if (eq <= 0) throw new UsageError(`--label must be key=value; got "${l}"`, ctx.name);
      task.labels[l.slice(0, eq)] = l.slice(eq + 1);
    }
  }
  const deadline = strOption(ctx.opts.deadline);
  if (deadline !== undefined) task.deadline = deadline;
  return task;
}

export const COMMANDS: CommandDef[] = [
  {
    name: 'submit',
    params: '<capability>',
    summary: 'Submit a task',
    help: 'Prints the created task; with --wait the final task (exit 0 if it succeeded, 1 otherwise); with --watch its progress.',
    minArgs: 1,
    maxArgs: 1,
    options: [
      { name: 'input', type: 'string', placeholder: 'JSON|@file|@-', description: 'Handler input: a JSON object, @file or @- (stdin)' },
      { name: 'priority', type: 'string', placeholder: 'P', description: 'LOW, MEDIUM (default), HIGH or CRITICAL' },
      { name: 'idempotency-key', type: 'string', placeholder: 'key', description: 'A second submit with the same key is rejected (409)' },
      { name: 'max-attempts', type: 'string', placeholder: 'n', description: 'Attempts in total (default 4)' },
      { name: 'backoff', type: 'string', placeholder: 'ms,ms,…', description: 'Retry delays in ms (default 5000,15000,30000)' },
      { name: 'label', type: 'list', placeholder: 'k=v', description: 'A label (repeatable)' },
      { name: 'deadline', type: 'string', placeholder: 'ISO time', description: 'When the task should be done by' },
      { name: 'wait', type: 'boolean', description: 'Wait for a terminal state and print the final task' },
      { name: 'watch', type: 'boolean', description: 'Show progress until a terminal state' },
      POLL,
      TIMEOUT,
    ],
    async run(ctx) {
      if (ctx.opts.wait && ctx.opts.watch) throw new UsageError('use either --wait or --watch', ctx.name);
      const task = await buildTask(ctx);
      const wopts = watchOptions(ctx);
      const client = ctx.client();
      const created = await client.submit(task);
      if (ctx.opts.watch) {
        if (!ctx.json) ctx.io.stdout.write(`submitted ${created.id}\n`);
        return watchTask(client, ctx.io, created.id, wopts);
      }
      if (ctx.opts.wait) {
        const final = await client.waitFor(created.id, wopts);
        print(ctx, final, () => taskDetails(final));
        return final.state === 'succeeded' ? 0 : 1;
      }
      return print(ctx, created, () => `submitted ${created.id} (${created.capability}, ${created.priority}, ${created.state})\n`);
    },
  },
  {
    name: 'submit-batch',
    params: '<file.json|->',
    summary: 'Submit many tasks from a JSON file (or stdin)',
    help: 'The file holds an array of tasks or {"tasks": [...]}; more than 1000 are sent in chunks of 1000.',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const src = ctx.args[0]!;
      const parsed = await jsonArg(ctx, src === '-' ? '-' : `@${src}`, src === '-' ? 'stdin' : src);
      const tasks = Array.isArray(parsed) ? parsed : (parsed as { tasks?: unknown } | null)?.tasks;
      if (!Array.isArray(tasks) || tasks.length === 0)
        throw new UsageError('expected a non-empty array of tasks or {"tasks": [...]}', ctx.name);
      const created = await ctx.client().submitBatch(tasks as SubmitTaskDto[]);
      return print(
        ctx,
        { tasks: created },
        () => `submitted ${created.length} task${created.length === 1 ? '' : 's'}\n${submittedTable(created)}`,
      );
    },
  },
  {
    name: 'get',
    params: '<taskId>',
    summary: 'Show a task: state, attempts, progress, result',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const t = await ctx.client().get(ctx.args[0]!);
      return print(ctx, t, () => taskDetails(t));
    },
  },
  {
    name: 'watch',
    params: '<taskId>',
    summary: 'Follow a task until it ends (exit 0 if it succeeded, 1 otherwise)',
    help: 'Prints state changes, finished attempts and progress; a live progress bar on a terminal. --json prints each new snapshot as one JSON line.',
    minArgs: 1,
    maxArgs: 1,
    options: [POLL, TIMEOUT],
    async run(ctx) {
      return watchTask(ctx.client(), ctx.io, ctx.args[0]!, watchOptions(ctx));
    },
  },
  {
    name: 'cancel',
    params: '<taskId>',
    summary: 'Cancel a task',
    minArgs: 1,
    maxArgs: 1,
    options: [{ name: 'reason', type: 'string', placeholder: 'text', description: 'Why (recorded with the task)' }],
    async run(ctx) {
      const t = await ctx.client().cancel(ctx.args[0]!, strOption(ctx.opts.reason));
      return print(ctx, t, () => `task ${t.id} is ${t.state}\n`);
    },
  },
  {
    name: 'priority',
    params: '<taskId> <P>',
    summary: 'Change the priority of a task (LOW, MEDIUM, HIGH, CRITICAL)',
    minArgs: 2,
    maxArgs: 2,
    options: [],
    async run(ctx) {
      const p = priorityArg(ctx.args[1]!, ctx.name);
      const t = await ctx.client().setPriority(ctx.args[0]!, p);
      return print(ctx, t, () => `task ${t.id} priority ${t.priority} (${t.state})\n`);
    },
  },
  {
    name: 'tasks',
    params: '',
    summary: 'List tasks, newest first',
    minArgs: 0,
    maxArgs: 0,
    options: [
      { name: 'state', type: 'string', placeholder: 'S', description: TASK_STATES.join(', ') },
      { name: 'capability', type: 'string', placeholder: 'C', description: 'Only this capability' },
      { name: 'priority', type: 'string', placeholder: 'P', description: PRIORITIES.join(', ') },
      { name: 'agent', type: 'string', placeholder: 'id', description: 'Only tasks of this agent' },
      LIMIT,
      CURSOR,
    ],
    async run(ctx) {
      const state = oneOf(ctx.opts.state, TASK_STATES, 'state', ctx.name);
      const priority = strOption(ctx.opts.priority);
      const limit = intOption(ctx.opts.limit, 'limit', 1, 500, ctx.name);
      const page = await ctx.client().list({
        ...(state ? { state } : {}),
        ...(strOption(ctx.opts.capability) ? { capability: strOption(ctx.opts.capability) } : {}),
        ...(priority ? { priority: priorityArg(priority, ctx.name) } : {}),
        ...(strOption(ctx.opts.agent) ? { agentId: strOption(ctx.opts.agent) } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(strOption(ctx.opts.cursor) ? { cursor: strOption(ctx.opts.cursor) } : {}),
      });
      return print(ctx, page, () => (page.items.length === 0 ? 'no tasks\n' : tasksTable(page.items) + nextPageHint(page.nextCursor)));
    },
  },
  {
    name: 'agents list',
    params: '',
    summary: 'List agents (also: swarm agents)',
    minArgs: 0,
    maxArgs: 0,
    options: [
      { name: 'state', type: 'string', placeholder: 'S', description: AGENT_STATES.join(', ') },
      { name: 'capability', type: 'string', placeholder: 'C', description: 'Only agents with this capability' },
      { name: 'domain', type: 'string', placeholder: 'D', description: AGENT_DOMAINS.join(', ') },
      LIMIT,
      CURSOR,
    ],
    async run(ctx) {
      const state = oneOf(ctx.opts.state, AGENT_STATES, 'state', ctx.name);
      const domain = oneOf(ctx.opts.domain, AGENT_DOMAINS, 'domain', ctx.name);
      const limit = intOption(ctx.opts.limit, 'limit', 1, 500, ctx.name);
      const page = await ctx.client().agents.list({
        ...(state ? { state } : {}),
        ...(domain ? { domain } : {}),
        ...(strOption(ctx.opts.capability) ? { capability: strOption(ctx.opts.capability) } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(strOption(ctx.opts.cursor) ? { cursor: strOption(ctx.opts.cursor) } : {}),
      });
      return print(ctx, page, () => (page.items.length === 0 ? 'no agents\n' : agentsTable(page.items) + nextPageHint(page.nextCursor)));
    },
  },
  {
    name: 'agents get',
    params: '<agentId>',
    summary: 'Show an agent',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const a = await ctx.client().agents.get(ctx.args[0]!);
      return print(ctx, a, () => agentDetails(a));
    },
  },
  {
    name: 'agents health',
    params: '<agentId>',
    summary: 'Show an agent’s liveness, load and circuit breaker',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const h = await ctx.client().agents.health(ctx.args[0]!);
      return print(ctx, h, () =>
        details([
          ['id', h.id],
          ['state', h.state],
          ['heartbeat', h.lastHeartbeatAt],
          ['load', `${h.load.running} running, ${h.load.freeSlots} free`],
          ['succeeded', h.stats.succeeded],
          ['failed', `${h.stats.failed} (${h.stats.consecutiveFailures} in a row)`],
          ['breaker', h.breaker.state],
        ]),
      );
    },
  },
  {
    name: 'agents errors',
    params: '<agentId>',
    summary: 'Recent failed attempts on an agent',
    minArgs: 1,
    maxArgs: 1,
    options: [{ name: 'limit', type: 'string', placeholder: 'n', description: 'Most entries (default 50)' }],
    async run(ctx) {
      const limit = intOption(ctx.opts.limit, 'limit', 1, 500, ctx.name);
      const e = await ctx.client().agents.errors(ctx.args[0]!, limit);
      return print(ctx, e, () =>
        e.items.length === 0
          ? 'no errors\n'
          : table(
              ['AT', 'TASK', 'CAPABILITY', 'ATTEMPT', 'OUTCOME', 'ERROR'],
              e.items.map((i) => [
                i.at,
                i.taskId,
                i.capability,
                i.attempt,
                i.outcome,
                `${i.error.code ? `${i.error.code}: ` : ''}${i.error.message}`,
              ]),
            ),
      );
    },
  },
  ...(['drain', 'resume', 'restart'] as const).map((action): CommandDef => ({
    name: `agents ${action}`,
    params: '<agentId>',
    summary: {
      drain: 'Drain an agent: no new work, running work finishes',
      resume: 'Resume a drained agent',
      restart: 'Restart an agent (drain, then re-initialise)',
    }[action],
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const a = await ctx.client().agents[action](ctx.args[0]!);
      return print(ctx, a, () => `agent ${a.id}: ${action} requested (state ${a.state})\n`);
    },
  })),
  {
    name: 'dead-letters list',
    params: '',
    summary: 'List dead letters (also: swarm dead-letters)',
    minArgs: 0,
    maxArgs: 0,
    options: [
      { name: 'capability', type: 'string', placeholder: 'C', description: 'Only this capability' },
      { name: 'include-replayed', type: 'boolean', description: 'Also those already replayed' },
      LIMIT,
      CURSOR,
    ],
    async run(ctx) {
      const limit = intOption(ctx.opts.limit, 'limit', 1, 500, ctx.name);
      const page = await ctx.client().deadLetters.list({
        ...(strOption(ctx.opts.capability) ? { capability: strOption(ctx.opts.capability) } : {}),
        ...(ctx.opts['include-replayed'] ? { includeReplayed: true } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(strOption(ctx.opts.cursor) ? { cursor: strOption(ctx.opts.cursor) } : {}),
      });
      return print(ctx, page, () =>
        page.items.length === 0 ? 'no dead letters\n' : deadLettersTable(page.items) + nextPageHint(page.nextCursor),
      );
    },
  },
  {
    name: 'dead-letters get',
    params: '<deadLetterId>',
    summary: 'Show a dead letter with its error history',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const d = await ctx.client().deadLetters.get(ctx.args[0]!);
      return print(ctx, d, () => deadLetterDetails(d));
    },
  },
  {
    name: 'dead-letters replay',
    params: '<deadLetterId>',
    summary: 'Put a dead-lettered task back in its queue with a fresh attempt budget',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const t = await ctx.client().deadLetters.replay(ctx.args[0]!);
      return print(ctx, t, () => `replayed: task ${t.id} is ${t.state}\n`);
    },
  },
  {
    name: 'queues',
    params: '',
    summary: 'Queue depth of every capability by priority',
    minArgs: 0,
    maxArgs: 0,
    options: [],
    async run(ctx) {
      const q = await ctx.client().queues();
      return print(ctx, q, () => (q.items.length === 0 ? 'no queues\n' : queuesTable(q.items)));
    },
  },
  {
    name: 'health',
    params: '',
    summary: 'Health of every service, NATS and Postgres (exit 0 when ok, 1 otherwise)',
    minArgs: 0,
    maxArgs: 0,
    options: [],
    async run(ctx) {
      const h = await ctx.client().health();
      print(ctx, h, () => {
        const rows = Object.entries(h.services).map(([name, s]) => [
          name,
          s.status,
          s.version,
          s.latencyMs === undefined ? undefined : `${s.latencyMs}ms`,
          s.error,
        ]);
        rows.push(['nats', h.nats.status, undefined, undefined, h.nats.error]);
        rows.push([
          'postgres',
          h.postgres.status,
          undefined,
          h.postgres.latencyMs === undefined ? undefined : `${h.postgres.latencyMs}ms`,
          h.postgres.error,
        ]);
        return `mesh: ${h.status}\n${table(['COMPONENT', 'STATUS', 'VERSION', 'LATENCY', 'ERROR'], rows)}`;
      });
      return h.status === 'ok' ? 0 : 1;
    },
  },
];

/** Command groups whose bare name runs a default subcommand (`swarm agents` = `swarm agents list`). */
export const GROUP_DEFAULTS: Record<string, string> = { agents: 'agents list', 'dead-letters': 'dead-letters list' };
