import {
  type InstantiateTemplateDto,
  InvalidCursorError,
  TEMPLATE_NAME_RE,
  NotFoundError,
  type RegisterTemplateDto,
  type TaskTier,
  type TaskTreeDto,
  type TaskTreeNodeDto,
  type WorkflowCoverageDto,
  type WorkflowDto,
  type WorkflowPageDto,
  type WorkflowPlanDto,
  type WorkflowState,
  type WorkflowSummaryDto,
  type WorkflowTemplateDto,
  type WorkflowTemplatePageDto,
  type WorkflowTreeDto,
} from '@swarm-mesh/contracts';
import type { CoordinatorEngine } from '../engine/coordinator-engine';
import { isTerminal, toApprovalDto } from '../engine/task-record';
import type { TaskStore } from '../engine/task-store';
import type { StoredNode, StoredWorkflow, TreeRow, WorkflowStore } from '../engine/workflow-store';
import { isNonEmpty } from '../validation/output-validator';
import { BUILTIN_TEMPLATES } from './builtin-templates';
import { computeCoverage, type Coverage, type NodeStatus, nodeStatusOf, progressOf, publicNodeState } from './coverage';
import { plan, validateWorkflow, type WorkflowSpec } from './graph';
import { getPath } from './mapping';
import { checkTemplate, instantiate, resolveParams } from './templates';

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** Estimate of a capability without history. */
const DEFAULT_ESTIMATE_MS = 1000;
/** Most tasks a tree answer lists. */
const MAX_TREE = 5000;
/** When the built-in templates appeared (this process's start). */
const BUILTIN_AT = Date.now();

function zeroProgress(total: number): WorkflowSummaryDto['progress'] {
  return { total, succeeded: 0, failed: 0, cancelled: 0, active: 0, pending: total, awaitingApproval: 0, needsReview: 0, percent: 0 };
}

/**
 * The read side of workflows, trees and templates: built from Postgres (the truth; states of
 * running attempts may trail by the lazy-write delay) and, for lists, the engine's live view.
 */
export class WorkflowReads {
  private readonly store: WorkflowStore;

  constructor(
    private readonly engine: CoordinatorEngine,
    private readonly tasks: TaskStore,
  ) {
    this.store = engine.workflowStore;
  }

  private async stored(tenantId: string, id: string): Promise<StoredWorkflow> {
    const w = await this.store.getWorkflow(tenantId, id);
    if (!w) throw new NotFoundError('workflow', id);
    return w;
  }

  /**
   * A node whose task is still in the engine's working set, with the state the engine holds:
   * dispatched and running transitions reach Postgres up to LAZY_WRITE_MS late, so the row may
   * still say `dispatched` after the agent started (ended tasks have left the working set and
   * their row is current).
   */
  private withLiveState(n: StoredNode): StoredNode {
    const live = this.engine.tasks.get(n.taskId);
    if (!live || isTerminal(live.state)) return n;
    return {
      ...n,
      state: live.state,
      attempt: live.attempt,
      startedAt: live.startedAt,
      error: live.error,
      review: live.review ?? n.review,
    };
  }

  /** Statuses and coverage of one workflow from its node rows. */
  private evaluate(
    spec: WorkflowSpec,
    nodes: StoredNode[],
  ): { byKey: Map<string, StoredNode>; status: Map<string, NodeStatus>; coverage: Coverage } {
    const byKey = new Map(nodes.map((n) => [n.nodeKey, n]));
    const status = new Map<string, NodeStatus>();
    for (const ns of spec.nodes) {
      const n = byKey.get(ns.key);
      status.set(ns.key, n ? nodeStatusOf(n.state, n.review, ns.approval?.required === true) : 'failed');
    }
    const coverage = computeCoverage(
      spec.requirements,
      spec.minCoverage,
      (k) => status.get(k),
      (k, f) => {
        const n = byKey.get(k);
        return n && n.state === 'succeeded' ? isNonEmpty(getPath(n.result, f.split('.'))) : undefined;
      },
      [...status.values()],
    );
    return { byKey, status, coverage };
  }

  private coverageDto(workflowId: string, c: Coverage): WorkflowCoverageDto {
    return {
      workflowId,
      requirements: c.requirements.map((r) => ({
        id: r.id,
        description: r.description,
        status: r.status,
        satisfiedBy: r.satisfiedBy.map((s) => ({
          node: s.node,
          ...(s.field !== undefined ? { field: s.field } : {}),
          status: s.status,
          ...(s.reason !== undefined ? { reason: s.reason } : {}),
        })),
      })),
      total: c.total,
      covered: c.covered,
      failed: c.failed,
      pending: c.pending,
      coverage: Math.round(c.coverage * 1000) / 1000,
      minCoverage: c.minCoverage,
      gate: c.gate,
    };
  }

  private summary(w: StoredWorkflow, progress: WorkflowSummaryDto['progress'], coverage: number | null): WorkflowSummaryDto {
    return {
      id: w.id,
      tenantId: w.tenantId,
      name: w.name,
      state: w.state as WorkflowState,
      failurePolicy: w.failurePolicy as WorkflowSummaryDto['failurePolicy'],
      template: w.template,
      idempotencyKey: w.idempotencyKey,
      progress,
      coverage: coverage === null ? null : Math.round(coverage * 1000) / 1000,
      error: w.error as WorkflowSummaryDto['error'],
      labels: w.labels,
      createdAt: new Date(w.createdAt).toISOString(),
      updatedAt: new Date(w.updatedAt).toISOString(),
      finishedAt: iso(w.finishedAt),
    };
  }

  async workflow(tenantId: string, id: string): Promise<WorkflowDto> {
    const w = await this.stored(tenantId, id);
    const spec = w.spec as WorkflowSpec;
    const fieldNodes = [
      ...new Set(spec.requirements.flatMap((r) => r.satisfiedBy.filter((s) => s.field !== undefined).map((s) => s.node))),
    ];
    const nodes = (await this.store.nodes([id], fieldNodes)).map((n) => this.withLiveState(n));
    const { byKey, status, coverage } = this.evaluate(spec, nodes);
    const progress = progressOf([...status.values()]);
    return {
      ...this.summary(w, progress, spec.requirements.length > 0 ? coverage.coverage : null),
      nodes: spec.nodes.map((ns) => {
        const n = byKey.get(ns.key);
        const st = status.get(ns.key)!;
        return {
          key: ns.key,
          taskId: n?.taskId ?? '00000000-0000-4000-8000-000000000000',
          capability: ns.capability,
          state: publicNodeState(st, n?.state ?? 'failed'),
          taskState: n?.state ?? 'failed',
          dependsOn: ns.dependsOn,
          attempt: n?.attempt ?? 0,
          approval: n?.review ? toApprovalDto(n.review) : null,
          error: n?.error ?? null,
          startedAt: iso(n?.startedAt),
          finishedAt: iso(n?.finishedAt),
        };
      }),
      params: w.params,
      requirements: spec.requirements.length > 0 ? this.coverageDto(id, coverage) : null,
    };
  }

  async list(tenantId: string, state: string | undefined, limit: number, cursor: string | undefined): Promise<WorkflowPageDto> {
    const page = await this.store.listWorkflows({ tenantId, ...(state ? { state } : {}), limit, ...(cursor ? { cursor } : {}) });
    return {
      items: page.items.map((w) => {
        const live = this.engine.workflows.get(w.id);
        if (live) return this.summary(w, progressOf([...live.nodes.values()].map((n) => n.status)), null);
        const stored = (w.summary as { progress?: WorkflowSummaryDto['progress'] } | null)?.progress;
        return this.summary(w, stored ?? zeroProgress(w.nodeCount), w.coverage);
      }),
      nextCursor: page.nextCursor,
    };
  }

  async coverage(tenantId: string, id: string): Promise<WorkflowCoverageDto> {
    const w = await this.stored(tenantId, id);
    const spec = w.spec as WorkflowSpec;
    const fieldNodes = [
      ...new Set(spec.requirements.flatMap((r) => r.satisfiedBy.filter((s) => s.field !== undefined).map((s) => s.node))),
    ];
    const nodes = (await this.store.nodes([id], fieldNodes)).map((n) => this.withLiveState(n));
    return this.coverageDto(id, this.evaluate(spec, nodes).coverage);
  }

  async plan(tenantId: string, id: string): Promise<WorkflowPlanDto> {
    const w = await this.stored(tenantId, id);
    const spec = w.spec as WorkflowSpec;
    const durations = await this.store.capabilityDurations(tenantId, [...new Set(spec.nodes.map((n) => n.capability))]);
    const p = plan(spec.nodes, (cap) => {
      const ms = durations.get(cap);
      return ms !== undefined && Number.isFinite(ms) ? { ms, source: 'history' } : { ms: DEFAULT_ESTIMATE_MS, source: 'default' };
    });
    return { workflowId: id, levels: p.levels, criticalPath: p.criticalPath, estimatedMs: p.estimatedMs, nodes: p.nodes };
  }

  private treeNode(r: TreeRow): TaskTreeNodeDto {
    return {
      id: r.id,
      capability: r.capability,
      state: r.state,
      tier: (r.tier ?? 'orchestrator') as TaskTier,
      depth: r.depth ?? 0,
      nodeKey: r.nodeKey,
      spawnKey: r.spawnKey,
      parentTaskId: r.parentTaskId,
      approval: r.review ? toApprovalDto(r.review) : null,
      createdAt: new Date(r.createdAt).toISOString(),
      finishedAt: iso(r.finishedAt),
      children: [],
    };
  }

  /** Nests rows under their parents; returns the nodes without a parent among the rows. */
  private nest(rows: TreeRow[]): TaskTreeNodeDto[] {
    const byId = new Map(rows.map((r) => [r.id, this.treeNode(r)]));
    const roots: TaskTreeNodeDto[] = [];
    for (const r of rows) {
      const node = byId.get(r.id)!;
      const parent = r.parentTaskId ? byId.get(r.parentTaskId) : undefined;
      if (parent) parent.children.push(node);
      else roots.push(node);
    }
    return roots;
  }

  async taskTree(tenantId: string, taskId: string): Promise<TaskTreeDto> {
    const t = this.engine.tasks.get(taskId) ?? (await this.tasks.getTask(tenantId, taskId));
    if (!t || t.tenantId !== tenantId) throw new NotFoundError('task', taskId);
    const rootId = t.link?.rootTaskId ?? t.id;
    const rows = await this.store.tree(rootId, MAX_TREE);
    const root = this.nest(rows).find((n) => n.id === rootId);
    if (!root) throw new NotFoundError('task', taskId);
    return { root, size: rows.length };
  }

  async workflowTree(tenantId: string, id: string): Promise<WorkflowTreeDto> {
    const w = await this.stored(tenantId, id);
    const rows = await this.store.workflowTree(w.id, MAX_TREE);
    const spec = w.spec as WorkflowSpec;
    const order = new Map(spec.nodes.map((n, i) => [n.key, i]));
    const nodes = this.nest(rows)
      .filter((n) => n.nodeKey)
      .sort((a, b) => (order.get(a.nodeKey!) ?? 0) - (order.get(b.nodeKey!) ?? 0));
    return { workflowId: w.id, nodes, size: rows.length };
  }

  // ── templates ────────────────────────────────────────────────────────────

  private builtin(name: string): WorkflowTemplateDto | undefined {
    const t = BUILTIN_TEMPLATES.find((b) => b.name === name);
    return t ? this.templateDto(t, 1, true, BUILTIN_AT, BUILTIN_AT) : undefined;
  }

  private templateDto(
    t: RegisterTemplateDto,
    version: number,
    builtin: boolean,
    createdAt: number,
    updatedAt: number,
  ): WorkflowTemplateDto {
    return {
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      params: t.params ?? [],
      defaults: t.defaults ?? {},
      workflow: t.workflow,
      version,
      builtin,
      createdAt: new Date(createdAt).toISOString(),
      updatedAt: new Date(updatedAt).toISOString(),
    };
  }

  async registerTemplate(tenantId: string, t: RegisterTemplateDto): Promise<WorkflowTemplateDto> {
    checkTemplate(t);
    const s = await this.store.upsertTemplate(tenantId, t, null);
    return this.templateDto(t, s.version, false, s.createdAt, s.updatedAt);
  }

  async template(tenantId: string, name: string): Promise<WorkflowTemplateDto> {
    const s = await this.store.getTemplate(tenantId, name);
    if (s) return this.templateDto(s.template, s.version, false, s.createdAt, s.updatedAt);
    const b = this.builtin(name);
    if (!b) throw new NotFoundError('template', name);
    return b;
  }

  async templates(tenantId: string, limit: number, cursor: string | undefined): Promise<WorkflowTemplatePageDto> {
    const own = await this.store.listTemplates(tenantId);
    const byName = new Map<string, WorkflowTemplateDto>();
    for (const b of BUILTIN_TEMPLATES) byName.set(b.name, this.builtin(b.name)!);
    for (const s of own) byName.set(s.template.name, this.templateDto(s.template, s.version, false, s.createdAt, s.updatedAt));
    let after = '';
    if (cursor !== undefined) {
      after = Buffer.from(cursor, 'base64url').toString('utf8');
      // a cursor is the base64url of the last template name of a page: anything else is refused
      if (!TEMPLATE_NAME_RE.test(after) || Buffer.from(after).toString('base64url') !== cursor) throw new InvalidCursorError(cursor);
    }
    const all = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)).filter((t) => t.name > after);
    const items = all.slice(0, limit);
    const last = items[items.length - 1];
    return { items, nextCursor: all.length > limit && last ? Buffer.from(last.name).toString('base64url') : null };
  }

  /** Instantiates a template and submits the workflow; resolves with the workflow once durable. */
  async instantiate(tenantId: string, name: string, body: InstantiateTemplateDto): Promise<WorkflowDto> {
    const t = await this.template(tenantId, name);
    const dto = instantiate(t, body);
    const spec = validateWorkflow(dto);
    const params = resolveParams(t.params ?? [], t.defaults ?? {}, body.params ?? {});
    const id = await this.engine.submitWorkflow(tenantId, dto, spec, { template: name, params });
    return this.workflow(tenantId, id);
  }
}
