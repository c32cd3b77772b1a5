import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { QueueCommands, type QueueDepthsDto, TenantScopedDto } from '@swarm-mesh/contracts';
import { HandleCommand } from '@swarm-mesh/service-kit';
import { EngineHost } from '../engine/engine.host';

/** Queue depths by capability and priority, from the live working set. */
@Controller()
export class QueueCommandsController {
  constructor(private readonly host: EngineHost) {}

  @HandleCommand(QueueCommands.depths)
  depths(@Payload() req: TenantScopedDto): QueueDepthsDto {
    return {
      items: this.host.engine.queueSnapshot(req.tenantId).map((r) => ({
        capability: r.capability,
        queued: { LOW: r.counts[0] ?? 0, MEDIUM: r.counts[1] ?? 0, HIGH: r.counts[2] ?? 0, CRITICAL: r.counts[3] ?? 0 },
        totalQueued: r.counts.reduce((a, b) => a + b, 0),
        dispatched: r.dispatched,
        running: r.running,
        retryScheduled: r.retryScheduled,
        oldestQueuedAgeMs: r.oldestAgeMs,
        availableAgents: r.availableAgents,
        freeSlots: r.freeSlots,
      })),
    };
  }
}
