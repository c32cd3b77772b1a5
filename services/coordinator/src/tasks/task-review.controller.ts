import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { TaskDecisionRequest, type TaskDto, TaskReviewCommands, type TaskTreeDto, TaskTreeRequest } from '@swarm-mesh/contracts';
import { HandleCommand } from '@swarm-mesh/service-kit';
import { EngineHost } from '../engine/engine.host';
import { toTaskDto } from '../engine/task-record';
import { WorkflowReads } from '../workflows/workflow-reads';

/** Human decisions on tasks (approval gates, reviews of results that failed their checks) and subtask trees. */
@Controller()
export class TaskReviewController {
  private readonly reads: WorkflowReads;

  constructor(private readonly host: EngineHost) {
    this.reads = new WorkflowReads(host.engine, host.store);
  }

  @HandleCommand(TaskReviewCommands.decide)
  async decide(@Payload() req: TaskDecisionRequest): Promise<TaskDto> {
    return toTaskDto(await this.host.engine.decide(req));
  }

  @HandleCommand(TaskReviewCommands.tree)
  tree(@Payload() req: TaskTreeRequest): Promise<TaskTreeDto> {
    return this.reads.taskTree(req.tenantId, req.taskId);
  }
}
