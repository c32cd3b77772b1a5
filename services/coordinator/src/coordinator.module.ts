import { Module } from '@nestjs/common';
import { PreemptCommandsController } from './admission/preempt-commands.controller';
import { AgentCommandsController } from './agents/agent-commands.controller';
import { DeadLetterCommandsController } from './dead-letters/dead-letter-commands.controller';
import { EngineHost } from './engine/engine.host';
import { QueueCommandsController } from './queues/queue-commands.controller';
import { SubtaskCommandsController } from './subtasks/subtask-commands.controller';
import { TaskCommandsController } from './tasks/task-commands.controller';
import { TaskReviewController } from './tasks/task-review.controller';
import { WorkflowCommandsController } from './workflows/workflow-commands.controller';

/** Root feature module of the coordinator. */
@Module({
  controllers: [
    TaskCommandsController,
    AgentCommandsController,
    DeadLetterCommandsController,
    QueueCommandsController,
    PreemptCommandsController,
    WorkflowCommandsController,
    TaskReviewController,
    SubtaskCommandsController,
  ],
  providers: [EngineHost],
})
export class CoordinatorModule {}
