import type { AgentRecord } from '../engine/agent-record';
import type { TaskRecord } from '../engine/task-record';

/**
 * Decides whether a ready task may be dispatched now. The resource allocator plugs in here:
 * the coordinator holds credits (leases on pool capacity) granted in batches and spends them
 * locally, so admission never costs a round trip per task. Calls come from inside a tick and
 * must be synchronous and cheap.
 */
export interface AdmissionGate {
  /**
   * May `task` go to `agent` now? `false` leaves it queued (the engine moves on to other work);
   * `'skip_queue'` also skips the rest of the task's tenant × capability queue for this round
   * (nothing in it can be admitted now), which spares a large backlog one call per task.
   */
  tryAdmit(task: TaskRecord, agent: AgentRecord, now: number): boolean | 'skip_queue';
  /** The pool the task's current attempt was admitted on, if any (reported in events). */
  poolOf?(taskId: string): string | undefined;
  /** An attempt that was admitted ended (any outcome); `usage` is what the agent reported, if anything. */
  onAttemptEnd(task: TaskRecord, outcome: string, usage: Record<string, unknown> | undefined): void;
  /** Registers the engine's wake-up: called when capacity appears (credits granted, pool resumed). */
  onCapacity(listener: () => void): void;
}

/** The gate used when no allocator is wired in: everything is admitted. */
export class AlwaysAdmit implements AdmissionGate {
  tryAdmit(): boolean {
    return true;
  }

  onAttemptEnd(): void {}

  onCapacity(): void {}
}
