import { type MeshEventDto, PRIORITIES } from '@swarm-mesh/contracts';
import type { AgentRecord } from './agent-record';
import type { DeadLetterRow } from './task-store';
import type { TaskRecord } from './task-record';
import type { WorkflowRecord } from './workflow-record';
import type { ApprovalRow } from './workflow-rows';

/** A control message to send to an agent after the commit. */
export interface PendingControl {
  agentId: string;
  /** Target process; default the agent's current instance. */
  instanceId?: string;
  kind: 'cancel' | 'drain' | 'resume' | 'restart';
  tasks?: Array<{ taskId: string; epoch: number }>;
  reason?: string;
}

/**
 * The write set of one tick: everything computed in memory that must be committed in one
 * transaction before anyone hears of it (replies, dispatches, events, controls).
 */
export class Tick {
  readonly inserts = new Map<string, TaskRecord>();
  readonly updates = new Map<string, TaskRecord>();
  readonly deadLetters: DeadLetterRow[] = [];
  readonly deadLetterReplays: Array<{ id: string; replayedBy: string; at: number }> = [];
  readonly agents = new Set<AgentRecord>();
  readonly capabilities: Array<{ tenantId: string; name: string }> = [];
  readonly taskEvents: MeshEventDto[] = [];
  readonly agentEvents: MeshEventDto[] = [];
  readonly dispatches = new Map<AgentRecord, TaskRecord[]>();
  readonly controls: PendingControl[] = [];
  /** Agents whose dispatch subject must be purged (dead or replaced instance). */
  readonly purges: string[] = [];
  /** Workflows created in this tick. */
  readonly workflowInserts = new Map<string, WorkflowRecord>();
  /** Workflows whose row changed in this tick. */
  readonly workflowUpdates = new Map<string, WorkflowRecord>();
  /** Approval rows to upsert, by task. */
  readonly approvals = new Map<string, ApprovalRow>();
  readonly workflowEvents: MeshEventDto[] = [];
  /** Children spawned in this tick per parent (limits and keys across spawn requests of one tick). */
  readonly spawned = new Map<string, Map<string, TaskRecord>>();
  /** Run after a successful commit, in order. */
  readonly after: Array<() => void> = [];
  /** Run when the commit fails (reject callers). */
  readonly failed: Array<(err: unknown) => void> = [];

  /** `now` as an ISO string, the `ts` of every event of the tick (built once). */
  readonly nowIso: string;

  constructor(readonly now: number) {
    this.nowIso = new Date(now).toISOString();
  }

  /** Marks a task row as changed (a task inserted in this tick stays an insert). */
  touch(t: TaskRecord): void {
    t.updatedAt = this.now;
    if (!this.inserts.has(t.id)) this.updates.set(t.id, t);
  }

  insert(t: TaskRecord): void {
    this.inserts.set(t.id, t);
  }

  taskEvent(t: TaskRecord, type: string, data: Record<string, unknown> = {}): void {
    this.taskEvents.push({
      type,
      ts: this.nowIso,
      tenantId: t.tenantId,
      data: {
        taskId: t.id,
        capability: t.capability,
        state: t.state,
        attempt: t.attempt,
        agentId: t.agentId,
        // the name (CONTRACT.md's enumeration), as REST shows it; records keep the rank
        priority: PRIORITIES[t.priority] ?? 'MEDIUM',
        ...data,
      },
    });
  }

  workflowEvent(w: WorkflowRecord, type: string, data: Record<string, unknown> = {}): void {
    this.workflowEvents.push({
      type,
      ts: this.nowIso,
      tenantId: w.tenantId,
      data: { workflowId: w.id, name: w.name, state: w.state, ...data },
    });
  }

  /** Marks a workflow row as changed (one created in this tick stays an insert). */
  touchWorkflow(w: WorkflowRecord): void {
    w.updatedAt = this.now;
    if (!this.workflowInserts.has(w.id)) this.workflowUpdates.set(w.id, w);
  }

  agentEvent(a: AgentRecord, type: string, data: Record<string, unknown> = {}): void {
    this.agentEvents.push({ type, ts: this.nowIso, tenantId: a.tenantId, data: { agentId: a.id, ...data } });
  }

  hasWrites(): boolean {
    return (
      this.inserts.size > 0 ||
      this.updates.size > 0 ||
      this.deadLetters.length > 0 ||
      this.deadLetterReplays.length > 0 ||
      this.agents.size > 0 ||
      this.capabilities.length > 0 ||
      this.taskEvents.length > 0 ||
      this.agentEvents.length > 0 ||
      this.workflowInserts.size > 0 ||
      this.workflowUpdates.size > 0 ||
      this.approvals.size > 0 ||
      this.workflowEvents.length > 0
    );
  }
}
