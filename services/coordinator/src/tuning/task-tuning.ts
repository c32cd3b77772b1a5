import type { PoolWeight } from '../engine/routing';
import type { TaskRecord } from '../engine/task-record';

/**
 * What the performance optimizer feeds back into dispatch. Consulted inside ticks: must be
 * synchronous and cheap (values are pushed to the coordinator ahead of time).
 */
export interface TaskTuning {
  /** A learned start-to-close timeout for a task that set none itself (undefined = none). */
  startToCloseMs(task: TaskRecord): number | undefined;
  /** Pool weights for the capability of a tenant (undefined = none: route as without the optimizer). */
  poolWeights(tenantId: string, capability: string): readonly PoolWeight[] | undefined;
}

/** No tuning: tasks keep only the timeouts they declare. */
export class NoTuning implements TaskTuning {
  startToCloseMs(): undefined {
    return undefined;
  }

  poolWeights(): undefined {
    return undefined;
  }
}
