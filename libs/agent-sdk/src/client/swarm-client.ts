import {
  type AgentDto,
  type AgentErrorsDto,
  type DeadLetterDto,
  MAX_BATCH_TASKS,
  type Priority,
  type QueueDepthsDto,
  type SubmitTaskDto,
  type SubmittedTaskDto,
  type TaskDto,
  TERMINAL_TASK_STATES,
  type TaskState,
  type InstantiateTemplateDto,
  type RegisterTemplateDto,
  type SubmitWorkflowDto,
  type TaskTreeDto,
  type WorkflowCoverageDto,
  type WorkflowDto,
  type WorkflowPlanDto,
  type WorkflowSummaryDto,
  type WorkflowTemplateDto,
  type WorkflowTreeDto,
} from '@swarm-mesh/contracts';
import { SwarmApiError, SwarmBatchSubmitError } from './errors';
import type {
  AgentFilters,
  AgentHealth,
  CallOptions,
  DeadLetterFilters,
  MeshHealthReport,
  Page,
  SwarmClientOptions,
  TaskFilters,
  WaitOptions,
  WorkflowFilters,
  WorkflowWaitOptions,
} from './types';

const API = '/api/v1';
const DEFAULT_URL = 'http://127.0.0.1:3000';
const MAX_RETRY_DELAY_MS = 5_000;

/** Which failures a request may be retried after. */
type RetryPolicy =
  /** GET: anything transient. */
  | 'read'
  /** Mutation: only when the server refused it before applying it (429, 503). */
  | 'write'
  /** Submit of keyed tasks: also after ambiguous failures (the idempotency key makes a repeat harmless). */
  | 'keyed';

type Query = Record<string, string | number | boolean | undefined>;

interface RequestSpec extends CallOptions {
  method: 'GET' | 'POST';
  path: string;
  query?: Query;
  body?: unknown;
  retry: RetryPolicy;
  /** Statuses whose JSON body is a normal answer (health answers 503 with a report). */
  okStatuses?: number[];
}

/** States a task never leaves on its own: `waitFor` returns when one is reached. */
export function isTerminalState(state: TaskState): boolean {
  return TERMINAL_TASK_STATES.includes(state);
}

/**
 * REST client of the Swarm Mesh gateway (`/api/v1`), for scripts, services and the `swarm` CLI.
 * Node's fetch, no other dependency. Errors are SwarmApiError (status, code, message, details).
 *
 * ```ts
 * const swarm = new SwarmClient({ url: 'http://127.0.0.1:3000', apiKey: process.env.SWARM_API_KEY });
 * const task = await swarm.submit({ capability: 'data.fetch', input: { url } });
 * const done = await swarm.waitFor(task.id, { timeoutMs: 60_000 });
 * ```
 */
export class SwarmClient {
  readonly url: string;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly headers: Record<string, string>;

  constructor(options: SwarmClientOptions = {}) {
    const env = options.env ?? process.env;
    this.url = (options.url ?? env.SWARM_URL ?? DEFAULT_URL).replace(/\/+$/, '');
    this.apiKey = options.apiKey ?? (env.SWARM_API_KEY || undefined);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = Math.max(0, options.retries ?? 3);
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.fetchFn = options.fetch ?? fetch;
    this.headers = { ...options.headers };
  }

  // ── tasks ────────────────────────────────────────────────────────────────

  /** Submits one task; resolves once it is durable (201). */
  async submit(task: SubmitTaskDto, opts: CallOptions = {}): Promise<TaskDto> {
    const keyed = typeof task.idempotencyKey === 'string' && task.idempotencyKey.length > 0;
    try {
      return await this.request<TaskDto>({ ...opts, method: 'POST', path: `${API}/tasks`, body: task, retry: keyed ? 'keyed' : 'write' });
    } catch (err) {
      // a retry after an ambiguous failure finds the task the first attempt created
      const existing = err instanceof SwarmApiError && err.code === 'DUPLICATE_IDEMPOTENCY_KEY' && err.details.retried === true;
      if (existing && typeof err.details.existingTaskId === 'string') return this.get(err.details.existingTaskId, opts);
      throw err;
    }
  }

  /**
   * Submits many tasks, in chunks of at most 1000 (each chunk all-or-nothing), and returns them
   * in order. If a chunk fails after earlier ones were accepted, throws SwarmBatchSubmitError
   * carrying the tasks already submitted.
   */
  async submitBatch(tasks: SubmitTaskDto[], opts: CallOptions = {}): Promise<SubmittedTaskDto[]> {
    const out: SubmittedTaskDto[] = [];
    for (let i = 0; i < tasks.length; i += MAX_BATCH_TASKS) {
      const chunk = tasks.slice(i, i + MAX_BATCH_TASKS);
      try {
        const reply = await this.request<{ tasks: SubmittedTaskDto[] }>({
          ...opts,
          method: 'POST',
          path: `${API}/tasks/batch`,
          body: { tasks: chunk },
          retry: 'write',
        });
        out.push(...reply.tasks);
      } catch (err) {
        if (out.length > 0 && err instanceof SwarmApiError) throw new SwarmBatchSubmitError(err, out);
        throw err;
      }
    }
    return out;
  }

  get(taskId: string, opts: CallOptions = {}): Promise<TaskDto> {
    return this.request({ ...opts, method: 'GET', path: `${API}/tasks/${encodeURIComponent(taskId)}`, retry: 'read' });
  }

  /** One page of tasks, newest first. */
  list(filters: TaskFilters = {}, opts: CallOptions = {}): Promise<Page<TaskDto>> {
    return this.request({ ...opts, method: 'GET', path: `${API}/tasks`, query: { ...filters }, retry: 'read' });
  }

  /** Every page of tasks matching the filters. */
  listPages(filters: TaskFilters = {}, opts: CallOptions = {}): AsyncGenerator<Page<TaskDto>> {
    return this.pages((cursor) => this.list({ ...filters, ...(cursor ? { cursor } : {}) }, opts), filters.cursor);
  }

  /** Every task matching the filters, page after page. */
  listAll(filters: TaskFilters = {}, opts: CallOptions = {}): AsyncGenerator<TaskDto> {
    return flatten(this.listPages(filters, opts));
  }

  cancel(taskId: string, reason?: string, opts: CallOptions = {}): Promise<TaskDto> {
    return this.request({
      ...opts,
      method: 'POST',
      path: `${API}/tasks/${encodeURIComponent(taskId)}/cancel`,
      body: reason === undefined ? {} : { reason },
      retry: 'write',
    });
  }

  setPriority(taskId: string, priority: Priority, opts: CallOptions = {}): Promise<TaskDto> {
    return this.request({
      ...opts,
      method: 'POST',
      path: `${API}/tasks/${encodeURIComponent(taskId)}/priority`,
      body: { priority },
      retry: 'write',
    });
  }

  /**
   * Polls a task until it reaches a terminal state (succeeded, failed, cancelled, dead_lettered,
   * timed_out) and returns it. `onUpdate` sees every change on the way.
   */
  async waitFor(taskId: string, opts: WaitOptions = {}): Promise<TaskDto> {
    const pollMs = Math.max(10, opts.pollMs ?? 500);
    const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
    let previous: TaskDto | undefined;
    for (;;) {
      const task = await this.get(taskId, opts.signal ? { signal: opts.signal } : {});
      if (!previous || changed(previous, task)) await opts.onUpdate?.(task, previous);
      previous = task;
      if (isTerminalState(task.state)) return task;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new SwarmApiError(0, 'WAIT_TIMEOUT', `task ${taskId} is still ${task.state} after ${opts.timeoutMs} ms`, {
          taskId,
          state: task.state,
        });
      }
      await sleep(Math.min(pollMs, remaining), opts.signal);
    }
  }

  // ── approvals and trees ──────────────────────────────────────────────────

  /** Approves a task behind its approval gate (or accepts the result of a task in needs_review). */
  approve(taskId: string, comment?: string, opts: CallOptions = {}): Promise<TaskDto> {
    return this.decide(taskId, 'approve', comment, opts);
  }

  /** Rejects a task behind its approval gate (or the result of a task in needs_review). */
  reject(taskId: string, comment?: string, opts: CallOptions = {}): Promise<TaskDto> {
    return this.decide(taskId, 'reject', comment, opts);
  }

  private decide(taskId: string, decision: 'approve' | 'reject', comment: string | undefined, opts: CallOptions): Promise<TaskDto> {
    return this.request({
      ...opts,
      method: 'POST',
      path: `${API}/tasks/${encodeURIComponent(taskId)}/${decision}`,
      body: comment === undefined ? {} : { comment },
      retry: 'write',
    });
  }

  /** The subtask tree a task belongs to (from its root), with each task's tier and state. */
  tree(taskId: string, opts: CallOptions = {}): Promise<TaskTreeDto> {
    return this.request({ ...opts, method: 'GET', path: `${API}/tasks/${encodeURIComponent(taskId)}/tree`, retry: 'read' });
  }

  // ── workflows and templates ──────────────────────────────────────────────

  readonly workflows = {
    /** Submits a workflow; resolves once every node task is durable (201). */
    submit: (workflow: SubmitWorkflowDto, opts: CallOptions = {}): Promise<WorkflowDto> =>
      this.request({ ...opts, method: 'POST', path: `${API}/workflows`, body: workflow, retry: 'write' }),
    get: (id: string, opts: CallOptions = {}): Promise<WorkflowDto> =>
      this.request({ ...opts, method: 'GET', path: `${API}/workflows/${encodeURIComponent(id)}`, retry: 'read' }),
    list: (filters: WorkflowFilters = {}, opts: CallOptions = {}): Promise<Page<WorkflowSummaryDto>> =>
      this.request({ ...opts, method: 'GET', path: `${API}/workflows`, query: { ...filters }, retry: 'read' }),
    plan: (id: string, opts: CallOptions = {}): Promise<WorkflowPlanDto> =>
      this.request({ ...opts, method: 'GET', path: `${API}/workflows/${encodeURIComponent(id)}/plan`, retry: 'read' }),
    requirements: (id: string, opts: CallOptions = {}): Promise<WorkflowCoverageDto> =>
      this.request({ ...opts, method: 'GET', path: `${API}/workflows/${encodeURIComponent(id)}/requirements`, retry: 'read' }),
    tree: (id: string, opts: CallOptions = {}): Promise<WorkflowTreeDto> =>
      this.request({ ...opts, method: 'GET', path: `${API}/workflows/${encodeURIComponent(id)}/tree`, retry: 'read' }),
    cancel: (id: string, reason?: string, opts: CallOptions = {}): Promise<WorkflowDto> =>
      this.request({
        ...opts,
        method: 'POST',
        path: `${API}/workflows/${encodeURIComponent(id)}/cancel`,
        body: reason === undefined ? {} : { reason },
        retry: 'write',
      }),
    /**
     * Polls a workflow until it is no longer running and returns it; `onUpdate` sees every
     * snapshot that differs (node states, progress).
     */
    waitFor: async (id: string, opts: WorkflowWaitOptions = {}): Promise<WorkflowDto> => {
      const pollMs = Math.max(10, opts.pollMs ?? 500);
      const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
      let previous: WorkflowDto | undefined;
      for (;;) {
        const wf = await this.workflows.get(id, opts.signal ? { signal: opts.signal } : {});
        if (!previous || workflowChanged(previous, wf)) await opts.onUpdate?.(wf, previous);
        previous = wf;
        if (wf.state !== 'running') return wf;
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          throw new SwarmApiError(0, 'WAIT_TIMEOUT', `workflow ${id} is still ${wf.state} after ${opts.timeoutMs} ms`, { workflowId: id });
        }
        await sleep(Math.min(pollMs, remaining), opts.signal);
      }
    },
  };

  readonly templates = {
    /** Registers (or replaces, as a new version) a workflow template. */
    register: (template: RegisterTemplateDto, opts: CallOptions = {}): Promise<WorkflowTemplateDto> =>
      this.request({ ...opts, method: 'POST', path: `${API}/workflow-templates`, body: template, retry: 'write' }),
    get: (name: string, opts: CallOptions = {}): Promise<WorkflowTemplateDto> =>
      this.request({ ...opts, method: 'GET', path: `${API}/workflow-templates/${encodeURIComponent(name)}`, retry: 'read' }),
    list: (filters: { limit?: number; cursor?: string } = {}, opts: CallOptions = {}): Promise<Page<WorkflowTemplateDto>> =>
      this.request({ ...opts, method: 'GET', path: `${API}/workflow-templates`, query: { ...filters }, retry: 'read' }),
    /** Submits the template's workflow with these parameters. */
    instantiate: (name: string, body: InstantiateTemplateDto = {}, opts: CallOptions = {}): Promise<WorkflowDto> =>
      this.request({
        ...opts,
        method: 'POST',
        path: `${API}/workflow-templates/${encodeURIComponent(name)}/instantiate`,
        body,
        retry: 'write',
      }),
  };

  // ── agents, dead letters, queues, health ─────────────────────────────────

  readonly agents = {
    list: (filters: AgentFilters = {}, opts: CallOptions = {}): Promise<Page<AgentDto>> =>
      this.request({ ...opts, method: 'GET', path: `${API}/agents`, query: { ...filters }, retry: 'read' }),
    listAll: (filters: AgentFilters = {}, opts: CallOptions = {}): AsyncGenerator<AgentDto> =>
      flatten(this.pages((cursor) => this.agents.list({ ...filters, ...(cursor ? { cursor } : {}) }, opts), filters.cursor)),
    get: (agentId: string, opts: CallOptions = {}): Promise<AgentDto> =>
      this.request({ ...opts, method: 'GET', path: `${API}/agents/${encodeURIComponent(agentId)}`, retry: 'read' }),
    health: (agentId: string, opts: CallOptions = {}): Promise<AgentHealth> =>
      this.request({ ...opts, method: 'GET', path: `${API}/agents/${encodeURIComponent(agentId)}/health`, retry: 'read' }),
    errors: (agentId: string, limit?: number, opts: CallOptions = {}): Promise<AgentErrorsDto> =>
      this.request({
        ...opts,
        method: 'GET',
        path: `${API}/agents/${encodeURIComponent(agentId)}/errors`,
        query: { limit },
        retry: 'read',
      }),
    drain: (agentId: string, opts: CallOptions = {}): Promise<AgentDto> => this.agentAction(agentId, 'drain', opts),
    resume: (agentId: string, opts: CallOptions = {}): Promise<AgentDto> => this.agentAction(agentId, 'resume', opts),
    restart: (agentId: string, opts: CallOptions = {}): Promise<AgentDto> => this.agentAction(agentId, 'restart', opts),
  };

  readonly deadLetters = {
    list: (filters: DeadLetterFilters = {}, opts: CallOptions = {}): Promise<Page<DeadLetterDto>> =>
      this.request({ ...opts, method: 'GET', path: `${API}/dead-letters`, query: { ...filters }, retry: 'read' }),
    listAll: (filters: DeadLetterFilters = {}, opts: CallOptions = {}): AsyncGenerator<DeadLetterDto> =>
      flatten(this.pages((cursor) => this.deadLetters.list({ ...filters, ...(cursor ? { cursor } : {}) }, opts), filters.cursor)),
    get: (deadLetterId: string, opts: CallOptions = {}): Promise<DeadLetterDto> =>
      this.request({ ...opts, method: 'GET', path: `${API}/dead-letters/${encodeURIComponent(deadLetterId)}`, retry: 'read' }),
    /** Puts the task back in its queue with a fresh attempt budget; returns the task. */
    replay: (deadLetterId: string, opts: CallOptions = {}): Promise<TaskDto> =>
      this.request({ ...opts, method: 'POST', path: `${API}/dead-letters/${encodeURIComponent(deadLetterId)}/replay`, retry: 'write' }),
  };

  /** Queue depth of every capability: `{items: QueueDepthDto[]}`. */
  queues(opts: CallOptions = {}): Promise<QueueDepthsDto> {
    return this.request({ ...opts, method: 'GET', path: `${API}/queues`, retry: 'read' });
  }

  /** The mesh health report (returned for both 200 and 503; check `status`). Needs no key. */
  health(opts: CallOptions = {}): Promise<MeshHealthReport> {
    return this.request({ ...opts, method: 'GET', path: `${API}/health`, retry: 'read', okStatuses: [503] });
  }

  // ── plumbing ─────────────────────────────────────────────────────────────

  private agentAction(agentId: string, action: 'drain' | 'resume' | 'restart', opts: CallOptions): Promise<AgentDto> {
    return this.request({ ...opts, method: 'POST', path: `${API}/agents/${encodeURIComponent(agentId)}/${action}`, retry: 'write' });
  }

  private async *pages<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>, first?: string): AsyncGenerator<Page<T>> {
    let cursor = first;
    for (;;) {
      const page = await fetchPage(cursor);
      yield page;
      if (!page.nextCursor) return;
      cursor = page.nextCursor;
    }
  }

  private async request<T>(spec: RequestSpec): Promise<T> {
    const url = this.url + spec.path + queryString(spec.query);
    const headers: Record<string, string> = { accept: 'application/json', ...this.headers };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
    let ambiguous = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.once<T>(spec, url, headers, body);
        return result;
      } catch (err) {
        if (!(err instanceof SwarmApiError)) throw err;
        if (ambiguous && err.code === 'DUPLICATE_IDEMPOTENCY_KEY') {
          throw new SwarmApiError(err.status, err.code, err.message, { ...err.details, retried: true }, err.traceId);
        }
        if (attempt >= this.retries || !shouldRetry(spec.retry, err) || spec.signal?.aborted) throw err;
        if (err.status === 0 || err.status === 502 || err.status === 504) ambiguous = true;
        await sleep(this.backoff(attempt, err), spec.signal);
      }
    }
  }

  private async once<T>(spec: RequestSpec, url: string, headers: Record<string, string>, body: string | undefined): Promise<T> {
    const timeoutMs = spec.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
    let res: Response;
    let text: string;
    try {
      res = await this.fetchFn(url, { method: spec.method, headers, ...(body !== undefined ? { body } : {}), signal });
      text = await res.text();
    } catch (err) {
      if (spec.signal?.aborted) throw spec.signal.reason;
      if (timeout.aborted) {
        throw new SwarmApiError(0, 'TIMEOUT', `${spec.method} ${spec.path}: no answer from ${this.url} within ${timeoutMs} ms`);
      }
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new SwarmApiError(0, 'CONNECTION_FAILED', `cannot reach ${this.url}: ${reason}`, { url: this.url });
    }
    const traceId = res.headers.get('x-trace-id') ?? undefined;
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.ok || spec.okStatuses?.includes(res.status)) {
      if (json === undefined) {
        throw new SwarmApiError(
          res.status,
          'INVALID_RESPONSE',
          `${spec.method} ${spec.path}: expected JSON, got "${text.slice(0, 200)}"`,
          {},
          traceId,
        );
      }
      return json as T;
    }
    throw toApiError(res, json, text, traceId);
  }

  private backoff(attempt: number, err: SwarmApiError): number {
    const retryAfter = Number(err.details.retryAfterMs);
    if (Number.isFinite(retryAfter) && retryAfter > 0) return Math.min(retryAfter, MAX_RETRY_DELAY_MS);
    const base = Math.min(this.retryDelayMs * 2 ** attempt, MAX_RETRY_DELAY_MS);
    return base / 2 + Math.random() * (base / 2);
  }
}

function shouldRetry(policy: RetryPolicy, err: SwarmApiError): boolean {
  if (err.code === 'WAIT_TIMEOUT' || err.code === 'INVALID_RESPONSE') return false;
  if (err.status === 429 || err.status === 503) return true;
  if (err.status === 0 || err.status === 502 || err.status === 504) return policy !== 'write';
  return false;
}

function toApiError(res: Response, json: unknown, text: string, traceId: string | undefined): SwarmApiError {
  const e = json as { code?: unknown; message?: unknown; details?: unknown } | undefined;
  const details = typeof e?.details === 'object' && e.details !== null ? { ...(e.details as Record<string, unknown>) } : {};
  const retryAfter = Number(res.headers.get('retry-after'));
  if (Number.isFinite(retryAfter) && retryAfter > 0 && details.retryAfterMs === undefined) details.retryAfterMs = retryAfter * 1000;
  if (typeof e?.code === 'string' && typeof e.message === 'string')
    return new SwarmApiError(res.status, e.code, e.message, details, traceId);
  const snippet = text.trim().slice(0, 200);
  return new SwarmApiError(
    res.status,
    `HTTP_${res.status}`,
    `HTTP ${res.status} ${res.statusText}${snippet ? `: ${snippet}` : ''}`,
    details,
    traceId,
  );
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.append(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

function changed(a: TaskDto, b: TaskDto): boolean {
  return (
    a.state !== b.state ||
    a.attempt !== b.attempt ||
    a.updatedAt !== b.updatedAt ||
    a.attempts.length !== b.attempts.length ||
    a.progress?.percent !== b.progress?.percent ||
    a.progress?.message !== b.progress?.message
  );
}

function workflowChanged(a: WorkflowDto, b: WorkflowDto): boolean {
  if (a.state !== b.state || a.updatedAt !== b.updatedAt || a.nodes.length !== b.nodes.length) return true;
  for (let i = 0; i < a.nodes.length; i++) {
    const x = a.nodes[i]!;
    const y = b.nodes[i]!;
    if (x.state !== y.state || x.attempt !== y.attempt || x.approval?.status !== y.approval?.status) return true;
  }
  return false;
}

async function* flatten<T>(pages: AsyncGenerator<Page<T>>): AsyncGenerator<T> {
  for await (const page of pages) yield* page.items;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
