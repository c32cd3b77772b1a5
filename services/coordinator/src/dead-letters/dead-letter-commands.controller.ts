import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  DeadLetterCommands,
  type DeadLetterDto,
  type DeadLetterPageDto,
  DeadLetterRequest,
  ListDeadLettersRequest,
  NotFoundError,
  type TaskDto,
} from '@swarm-mesh/contracts';
import { HandleCommand } from '@swarm-mesh/service-kit';
import { EngineHost } from '../engine/engine.host';
import { toTaskDto } from '../engine/task-record';
import type { DeadLetterRow } from '../engine/task-store';

function toDeadLetterDto(r: DeadLetterRow): DeadLetterDto {
  return {
    id: r.id,
    taskId: r.taskId,
    tenantId: r.tenantId,
    capability: r.capability,
    reason: r.reason,
    errors: r.errors,
    createdAt: new Date(r.createdAt).toISOString(),
    replayedAt: r.replayedAt === null ? null : new Date(r.replayedAt).toISOString(),
    replayedBy: r.replayedBy,
  };
}

/** Dead-letter queue: list, read, replay. */
@Controller()
export class DeadLetterCommandsController {
  constructor(private readonly host: EngineHost) {}

  @HandleCommand(DeadLetterCommands.list)
  async list(@Payload() req: ListDeadLettersRequest): Promise<DeadLetterPageDto> {
    const page = await this.host.store.listDeadLetters({
      tenantId: req.tenantId,
      ...(req.capability ? { capability: req.capability } : {}),
      includeReplayed: req.includeReplayed ?? false,
      limit: req.limit ?? 50,
      ...(req.cursor ? { cursor: req.cursor } : {}),
    });
    return { items: page.items.map(toDeadLetterDto), nextCursor: page.nextCursor };
  }

  @HandleCommand(DeadLetterCommands.get)
  async get(@Payload() req: DeadLetterRequest): Promise<DeadLetterDto> {
    const dl = await this.host.store.getDeadLetter(req.tenantId, req.deadLetterId);
    if (!dl) throw new NotFoundError('dead-letter', req.deadLetterId);
    return toDeadLetterDto(dl);
  }

  @HandleCommand(DeadLetterCommands.replay)
  async replay(@Payload() req: DeadLetterRequest): Promise<TaskDto> {
    return toTaskDto(await this.host.engine.replay(req.tenantId, req.deadLetterId, req.actor ?? 'unknown'));
  }
}
