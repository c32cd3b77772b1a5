import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { CoordinatorResourceCommands, type PreemptTasksReply, type PreemptTasksRequest } from '@swarm-mesh/contracts';
import type { FlagStore } from '@swarm-mesh/messaging';
import { FLAGS, HandleCommand, LOGGER } from '@swarm-mesh/service-kit';
import type { Logger } from '@swarm-mesh/telemetry';
import { EngineHost } from '../engine/engine.host';

/**
 * `coordinator.tasks.preempt`, sent by the conflict resolver: each running attempt ends
 * `preempted` and its task goes back to its queue (not a failed attempt). Nothing is preempted
 * while the runtime flag `resources.preemption` is off.
 */
@Controller()
export class PreemptCommandsController {
  constructor(
    @Inject(EngineHost) private readonly host: EngineHost,
    @Inject(FLAGS) private readonly flags: FlagStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @HandleCommand(CoordinatorResourceCommands.preempt)
  async preempt(@Payload() req: PreemptTasksRequest): Promise<PreemptTasksReply> {
    const ids = [...new Set(req.tasks.map((t) => t.taskId))];
    if (!this.flags.isEnabled('resources.preemption')) return { preempted: [], skipped: ids };
    const results = await Promise.all(
      req.tasks
        .filter((t, i, all) => all.findIndex((x) => x.taskId === t.taskId) === i)
        .map(async (t) => ({ id: t.taskId, done: await this.host.engine.preempt(t.taskId, t.reason) })),
    );
    const preempted = results.filter((r) => r.done).map((r) => r.id);
    if (preempted.length > 0) this.logger.info('tasks preempted', { tasks: preempted, reason: req.tasks[0]?.reason });
    return { preempted, skipped: results.filter((r) => !r.done).map((r) => r.id) };
  }
}
