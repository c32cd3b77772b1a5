import type { SwarmClient } from '@swarm-mesh/agent-sdk';
import { type SubmitWorkflowDto, WORKFLOW_STATES, type WorkflowDto, type RegisterTemplateDto } from '@swarm-mesh/contracts';
import { isAbsolute, resolve } from 'node:path';
import { intOption, type OptionSpec, strOption, UsageError } from './args';
import type { CommandContext, CommandDef } from './commands';
import type { CliIO } from './io';
import {
  coverageText,
  nodesTable,
  planText,
  progressText,
  templatesTable,
  treeText,
  workflowDetails,
  workflowsTable,
} from './workflow-format';

const DAY_MS = 24 * 3600 * 1000;

function print(ctx: CommandContext, value: unknown, human: () => string): number {
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(value, null, 2)}\n` : human());
  return 0;
}

/** A JSON document from `file`, or stdin for `-`. */
async function jsonFile(ctx: CommandContext, src: string): Promise<unknown> {
  let text: string;
  try {
    text = src === '-' ? await ctx.io.readStdin() : await ctx.io.readFile(isAbsolute(src) ? src : resolve(ctx.io.cwd, src));
  } catch (err) {
    throw new UsageError(`cannot read ${src}: ${(err as Error).message}`, ctx.name);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${src} is not valid JSON: ${(err as Error).message}`, ctx.name);
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
const AUTO_APPROVE: OptionSpec = {
  name: 'auto-approve',
  type: 'boolean',
  description: 'Approve every approval gate the workflow reaches (recorded as this key, comment "auto-approved")',
};
const WATCH: OptionSpec = { name: 'watch', type: 'boolean', description: 'Follow the workflow until it ends (exit 0 if it succeeded)' };

/** `k=v`: v as JSON when it parses (numbers, booleans, arrays, objects, "quoted"), else as a string. */
export function parseParams(list: string[], command: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param must be name=value; got "${item}"`, command);
    const raw = item.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      value = raw;
    }
    out[item.slice(0, eq)] = value;
  }
  return out;
}

function clock(): string {
  return new Date().toISOString().slice(11, 19);
}

interface FollowOptions {
  pollMs: number;
  timeoutMs?: number;
  autoApprove: boolean;
  json: boolean;
}

function followOptions(ctx: CommandContext): FollowOptions {
  const pollMs = intOption(ctx.opts.poll, 'poll', 10, 60_000, ctx.name) ?? 500;
  const timeoutMs = intOption(ctx.opts.timeout, 'timeout', 1, 30 * DAY_MS, ctx.name);
  return { pollMs, autoApprove: ctx.opts['auto-approve'] === true, json: ctx.json, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
}

/** Lines describing what changed between two snapshots of a workflow. */
export function describeWorkflowChange(prev: WorkflowDto | undefined, w: WorkflowDto): string[] {
  if (!prev) return [`workflow ${w.id} (${w.name}) is ${w.state}: ${progressText(w.progress)}`];
  const lines: string[] = [];
  const before = new Map(prev.nodes.map((n) => [n.key, n]));
  for (const n of w.nodes) {
    const p = before.get(n.key);
    if (p && p.state === n.state && p.attempt === n.attempt) continue;
    let extra = '';
    if (n.state === 'awaiting_approval') extra = w.state === 'running' ? ` — approve with: swarm approve ${n.taskId}` : '';
    else if (n.state === 'needs_review') extra = ` — its result failed its checks: swarm approve|reject ${n.taskId}`;
    else if (n.error && (n.state === 'failed' || n.state === 'retry_scheduled' || n.state === 'cancelled'))
      extra = `: ${n.error.code ? `${n.error.code} ` : ''}${n.error.message.slice(0, 120)}`;
    else if (n.approval?.decidedBy && p?.state === 'awaiting_approval')
      extra = ` (${n.approval.status} by ${n.approval.decidedByName ?? n.approval.decidedBy})`;
    lines.push(`${n.key}: ${p ? `${p.state} → ` : ''}${n.state}${n.attempt > 1 ? ` (attempt ${n.attempt})` : ''}${extra}`);
  }
  if (prev.state !== w.state) lines.push(`workflow ${prev.state} → ${w.state}`);
  return lines;
}

/** Asks a yes/no question on a terminal; undefined when there is no terminal to ask on. */
async function ask(io: CliIO, question: string): Promise<boolean | undefined> {
  if (!io.prompt) return undefined;
  const answer = await io.prompt(`${question} [y/N] `);
  if (answer === undefined) return undefined;
  return /^y(es)?$/i.test(answer.trim());
}

/**
 * Follows a workflow until it ends: one line per node change, approvals handled on the way
 * (`--auto-approve`, a prompt on a terminal, or a hint to `swarm approve`). Exit 0 when it
 * succeeded, 1 otherwise.
 */
export async function followWorkflow(client: SwarmClient, io: CliIO, id: string, o: FollowOptions): Promise<number> {
  const started = Date.now();
  const handled = new Set<string>();
  const final = await client.workflows.waitFor(id, {
    pollMs: o.pollMs,
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    onUpdate: async (w, prev) => {
      if (o.json) io.stdout.write(`${JSON.stringify(w)}\n`);
      else for (const line of describeWorkflowChange(prev, w)) io.stdout.write(`${clock()} ${line}\n`);
      for (const n of w.nodes) {
        if (n.state !== 'awaiting_approval' || handled.has(n.taskId)) continue;
        handled.add(n.taskId);
        let approve: boolean | undefined = o.autoApprove ? true : undefined;
        if (approve === undefined && !o.json) approve = await ask(io, `${clock()} approve node ${n.key} (task ${n.taskId})?`);
        if (approve === undefined) continue;
        const t = approve
          ? await client.approve(n.taskId, o.autoApprove ? 'auto-approved by the swarm CLI' : 'approved at the swarm CLI prompt')
          : await client.reject(n.taskId, 'rejected at the swarm CLI prompt');
        if (!o.json)
          io.stdout.write(
            `${clock()} ${n.key}: ${t.approval?.status ?? (approve ? 'approved' : 'rejected')} by ${t.approval?.decidedByName ?? t.approval?.decidedBy ?? 'you'}\n`,
          );
      }
    },
  });
  if (!o.json) {
    io.stdout.write(
      `workflow ${final.id} ${final.state} after ${Math.round((Date.now() - started) / 100) / 10}s: ${progressText(final.progress)}` +
        `${final.requirements ? `; requirements ${final.requirements.covered}/${final.requirements.total} covered (gate ${final.requirements.gate})` : ''}\n`,
    );
    if (final.error) io.stdout.write(`error: ${final.error.code}: ${final.error.message}\n`);
  }
  return final.state === 'succeeded' ? 0 : 1;
}

export const WORKFLOW_COMMANDS: CommandDef[] = [
  {
    name: 'workflow submit',
    params: '<file.json|->',
    summary: 'Submit a workflow (a DAG of tasks) from a JSON file or stdin',
    help: 'Cycles and unknown references are rejected before anything is written. With --watch, follows it to the end.',
    minArgs: 1,
    maxArgs: 1,
    options: [WATCH, AUTO_APPROVE, POLL, TIMEOUT],
    async run(ctx) {
      const body = (await jsonFile(ctx, ctx.args[0]!)) as SubmitWorkflowDto;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UsageError('expected a workflow object', ctx.name);
      const o = followOptions(ctx);
      const w = await ctx.client().workflows.submit(body);
      if (ctx.opts.watch) {
        if (!ctx.json) ctx.io.stdout.write(`submitted workflow ${w.id} (${w.nodes.length} nodes)\n`);
        return followWorkflow(ctx.client(), ctx.io, w.id, o);
      }
      return print(ctx, w, () => `submitted workflow ${w.id} (${w.name}, ${w.nodes.length} nodes, ${w.state})\n`);
    },
  },
  {
    name: 'workflow get',
    params: '<workflowId>',
    summary: 'Show a workflow: state, progress, nodes, coverage',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const w = await ctx.client().workflows.get(ctx.args[0]!);
      return print(ctx, w, () => workflowDetails(w));
    },
  },
  {
    name: 'workflow list',
    params: '',
    summary: 'List workflows, newest first (also: swarm workflows)',
    minArgs: 0,
    maxArgs: 0,
    options: [{ name: 'state', type: 'string', placeholder: 'S', description: WORKFLOW_STATES.join(', ') }, LIMIT, CURSOR],
    async run(ctx) {
      const state = strOption(ctx.opts.state);
      if (state !== undefined && !(WORKFLOW_STATES as readonly string[]).includes(state))
        throw new UsageError(`--state must be one of ${WORKFLOW_STATES.join(', ')}; got "${state}"`, ctx.name);
      const limit = intOption(ctx.opts.limit, 'limit', 1, 500, ctx.name);
      const page = await ctx.client().workflows.list({
        ...(state ? { state: state as (typeof WORKFLOW_STATES)[number] } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(strOption(ctx.opts.cursor) ? { cursor: strOption(ctx.opts.cursor) } : {}),
      });
      return print(ctx, page, () =>
        page.items.length === 0
          ? 'no workflows\n'
          : workflowsTable(page.items) + (page.nextCursor ? `(more: add --cursor ${page.nextCursor})\n` : ''),
      );
    },
  },
  {
    name: 'workflow plan',
    params: '<workflowId>',
    summary: 'Execution plan: topological levels, estimates, critical path',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const p = await ctx.client().workflows.plan(ctx.args[0]!);
      return print(ctx, p, () => planText(p));
    },
  },
  {
    name: 'workflow requirements',
    params: '<workflowId>',
    summary: 'Requirement coverage (covered, failed, pending) and the quality gate',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const c = await ctx.client().workflows.requirements(ctx.args[0]!);
      return print(ctx, c, () => (c.total === 0 ? 'no requirements declared\n' : coverageText(c)));
    },
  },
  {
    name: 'workflow tree',
    params: '<workflowId>',
    summary: 'Nodes with the subtasks their agents spawned (tier and state of each)',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const t = await ctx.client().workflows.tree(ctx.args[0]!);
      return print(ctx, t, () => treeText(t.nodes));
    },
  },
  {
    name: 'workflow cancel',
    params: '<workflowId>',
    summary: 'Cancel a workflow (its pending and running nodes, and their subtasks)',
    minArgs: 1,
    maxArgs: 1,
    options: [{ name: 'reason', type: 'string', placeholder: 'text', description: 'Why (recorded with the workflow)' }],
    async run(ctx) {
      const w = await ctx.client().workflows.cancel(ctx.args[0]!, strOption(ctx.opts.reason));
      return print(ctx, w, () => `workflow ${w.id} is ${w.state}: ${progressText(w.progress)}\n`);
    },
  },
  {
    name: 'workflow watch',
    params: '<workflowId>',
    summary: 'Follow a workflow until it ends (exit 0 if it succeeded)',
    help: 'Prints node changes; approval gates are approved with --auto-approve, asked about on a terminal, or named with the command to approve them.',
    minArgs: 1,
    maxArgs: 1,
    options: [AUTO_APPROVE, POLL, TIMEOUT],
    async run(ctx) {
      return followWorkflow(ctx.client(), ctx.io, ctx.args[0]!, followOptions(ctx));
    },
  },
  {
    name: 'template register',
    params: '<file.json|->',
    summary: 'Register (or replace) a workflow template from a JSON file',
    help: 'The file: {name, description?, params?: [{name, type, required?}], defaults?, workflow}; the workflow may use ${params.<name>}.',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const body = (await jsonFile(ctx, ctx.args[0]!)) as RegisterTemplateDto;
      const t = await ctx.client().templates.register(body);
      return print(ctx, t, () => `template ${t.name} version ${t.version} registered (${t.workflow.nodes.length} nodes)\n`);
    },
  },
  {
    name: 'template list',
    params: '',
    summary: 'List workflow templates (also: swarm templates)',
    minArgs: 0,
    maxArgs: 0,
    options: [LIMIT, CURSOR],
    async run(ctx) {
      const limit = intOption(ctx.opts.limit, 'limit', 1, 500, ctx.name);
      const page = await ctx.client().templates.list({
        ...(limit !== undefined ? { limit } : {}),
        ...(strOption(ctx.opts.cursor) ? { cursor: strOption(ctx.opts.cursor) } : {}),
      });
      return print(ctx, page, () => (page.items.length === 0 ? 'no templates\n' : templatesTable(page.items)));
    },
  },
  {
    name: 'template get',
    params: '<name>',
    summary: 'Show a workflow template',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const t = await ctx.client().templates.get(ctx.args[0]!);
      return print(ctx, t, () => `${JSON.stringify(t, null, 2)}\n`);
    },
  },
  {
    name: 'template run',
    params: '<name>',
    summary: 'Run a workflow template with parameters',
    minArgs: 1,
    maxArgs: 1,
    options: [
      { name: 'param', type: 'list', placeholder: 'k=v', description: 'A parameter (repeatable); the value is JSON when it parses' },
      { name: 'name', type: 'string', placeholder: 'text', description: 'Name of the workflow (default: the template’s)' },
      WATCH,
      AUTO_APPROVE,
      POLL,
      TIMEOUT,
    ],
    async run(ctx) {
      const params = parseParams((ctx.opts.param as string[] | undefined) ?? [], ctx.name);
      const o = followOptions(ctx);
      const w = await ctx
        .client()
        .templates.instantiate(ctx.args[0]!, { params, ...(strOption(ctx.opts.name) ? { name: strOption(ctx.opts.name) } : {}) });
      if (ctx.opts.watch) {
        if (!ctx.json) ctx.io.stdout.write(`started workflow ${w.id} (${w.name}) from template ${ctx.args[0]}\n`);
        return followWorkflow(ctx.client(), ctx.io, w.id, o);
      }
      return print(ctx, w, () => `started workflow ${w.id} (${w.name}, ${w.nodes.length} nodes)\n${nodesTable(w)}`);
    },
  },
  ...(['approve', 'reject'] as const).map((decision): CommandDef => ({
    name: decision,
    params: '<taskId>',
    summary:
      decision === 'approve'
        ? 'Approve a task behind its approval gate (or accept a result in needs_review)'
        : 'Reject a task behind its approval gate (or a result in needs_review)',
    minArgs: 1,
    maxArgs: 1,
    options: [{ name: 'comment', type: 'string', placeholder: 'text', description: 'Why (recorded with the decision)' }],
    async run(ctx) {
      const c = ctx.client();
      const t =
        decision === 'approve'
          ? await c.approve(ctx.args[0]!, strOption(ctx.opts.comment))
          : await c.reject(ctx.args[0]!, strOption(ctx.opts.comment));
      return print(
        ctx,
        t,
        () =>
          `task ${t.id} ${t.approval?.status ?? decision} by ${t.approval?.decidedByName ?? t.approval?.decidedBy ?? '?'} at ${t.approval?.decidedAt ?? '?'} (state ${t.state})\n`,
      );
    },
  })),
  {
    name: 'tree',
    params: '<taskId>',
    summary: 'The subtask tree of a task (tier and state of each task)',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const t = await ctx.client().tree(ctx.args[0]!);
      return print(ctx, t, () => treeText([t.root]));
    },
  },
  {
    name: 'demo wire-report',
    params: '',
    summary: 'Run the wire report workflow on the demo swarm and follow it (fetch → analyse → write → review → approve → publish)',
    help: 'Needs the demo swarm running (npm start). The review node waits for a human approval: --auto-approve, answer the prompt, or run `swarm approve <taskId>` from another terminal.',
    minArgs: 0,
    maxArgs: 0,
    options: [
      { name: 'topic', type: 'string', placeholder: 'text', description: 'What the report is about (default markets)' },
      { name: 'records', type: 'string', placeholder: 'n', description: 'Records to fetch (1-50, default 5)' },
      {
        name: 'placeholder',
        type: 'boolean',
        description: 'Make the writer return placeholder text first (the validation checkpoint catches it)',
      },
      AUTO_APPROVE,
      POLL,
      TIMEOUT,
    ],
    async run(ctx) {
      const records = intOption(ctx.opts.records, 'records', 1, 50, ctx.name);
      const params: Record<string, unknown> = {
        ...(strOption(ctx.opts.topic) ? { topic: strOption(ctx.opts.topic) } : {}),
        ...(records !== undefined ? { records } : {}),
        ...(ctx.opts.placeholder ? { placeholder: true } : {}),
      };
      const o = followOptions(ctx);
      const client = ctx.client();
      const w = await client.templates.instantiate('wire-report', { params });
      if (!ctx.json) ctx.io.stdout.write(`started workflow ${w.id} (${w.name})\n`);
      return followWorkflow(client, ctx.io, w.id, o);
    },
  },
];

export const WORKFLOW_GROUP_DEFAULTS: Record<string, string> = {
  workflow: 'workflow list',
  workflows: 'workflow list',
  template: 'template list',
  templates: 'template list',
  demo: 'demo wire-report',
};
