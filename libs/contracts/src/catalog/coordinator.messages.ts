import { defineCommand } from '../definitions/definitions';
import { AgentControlRequest, AgentDto, AgentErrorsDto, AgentPageDto, GetAgentRequest, ListAgentsRequest } from '../dto/agent.dto';
import { DeadLetterDto, DeadLetterPageDto, DeadLetterRequest, ListDeadLettersRequest } from '../dto/dead-letter.dto';
import { QueueDepthsDto } from '../dto/queue.dto';
import {
  CancelTaskRequest,
  CreateTaskRequest,
  CreateTasksReply,
  CreateTasksRequest,
  GetTaskRequest,
  ListTasksRequest,
  SetTaskPriorityRequest,
  SubmitTasksReply,
  SubmitTasksRequest,
  TenantScopedDto,
} from '../dto/task-commands.dto';
import { TaskDto, TaskPageDto } from '../dto/task.dto';

/** Task commands answered by the coordinator (`swarm.cmd.coordinator.tasks.*`). */
export const TaskCommands = {
  submit: defineCommand({
    service: 'coordinator',
    command: 'tasks.submit',
    request: SubmitTasksRequest,
    reply: SubmitTasksReply,
    timeoutMs: 30_000,
    maxPayloadBytes: 8 * 1024 * 1024,
    description: 'Submit one or more tasks (all-or-nothing); replies once they are durable.',
  }),
  create: defineCommand({
    service: 'coordinator',
    command: 'tasks.create',
    request: CreateTaskRequest,
    reply: TaskDto,
    timeoutMs: 30_000,
    maxPayloadBytes: 512 * 1024,
    description: 'Submit one task; replies with the whole task once it is durable.',
  }),
  createMany: defineCommand({
    service: 'coordinator',
    command: 'tasks.create_many',
    request: CreateTasksRequest,
    reply: CreateTasksReply,
    timeoutMs: 30_000,
    maxPayloadBytes: 8 * 1024 * 1024,
    description:
      'Independent single submits gathered by a gateway: each item is created or refused on its own (as with tasks.create); replies once the created ones are durable.',
  }),
  get: defineCommand({
    service: 'coordinator',
    command: 'tasks.get',
    request: GetTaskRequest,
    reply: TaskDto,
    description: 'Read one task.',
  }),
  list: defineCommand({
    service: 'coordinator',
    command: 'tasks.list',
    request: ListTasksRequest,
    reply: TaskPageDto,
    description: 'List tasks newest first with filters and a cursor.',
  }),
  cancel: defineCommand({
    service: 'coordinator',
    command: 'tasks.cancel',
    request: CancelTaskRequest,
    reply: TaskDto,
    description: 'Cancel a queued or running task (the running handler’s abort signal fires).',
  }),
  setPriority: defineCommand({
    service: 'coordinator',
    command: 'tasks.priority',
    request: SetTaskPriorityRequest,
    reply: TaskDto,
    description: 'Change the priority of a task.',
  }),
} as const;

/** Agent registry commands (`swarm.cmd.coordinator.agents.*`). */
export const AgentCommands = {
  list: defineCommand({
    service: 'coordinator',
    command: 'agents.list',
    request: ListAgentsRequest,
    reply: AgentPageDto,
    description: 'List agents.',
  }),
  get: defineCommand({
    service: 'coordinator',
    command: 'agents.get',
    request: GetAgentRequest,
    reply: AgentDto,
    description: 'Read one agent.',
  }),
  errors: defineCommand({
    service: 'coordinator',
    command: 'agents.errors',
    request: GetAgentRequest,
    reply: AgentErrorsDto,
    description: 'Recent failed attempts on an agent.',
  }),
  control: defineCommand({
    service: 'coordinator',
    command: 'agents.control',
    request: AgentControlRequest,
    reply: AgentDto,
    description: 'Drain, resume or restart an agent.',
  }),
} as const;

/** Dead-letter queue commands (`swarm.cmd.coordinator.dead_letters.*`). */
export const DeadLetterCommands = {
  list: defineCommand({
    service: 'coordinator',
    command: 'dead_letters.list',
    request: ListDeadLettersRequest,
    reply: DeadLetterPageDto,
    description: 'List dead letters.',
  }),
  get: defineCommand({
    service: 'coordinator',
    command: 'dead_letters.get',
    request: DeadLetterRequest,
    reply: DeadLetterDto,
    description: 'Read one dead letter.',
  }),
  replay: defineCommand({
    service: 'coordinator',
    command: 'dead_letters.replay',
    request: DeadLetterRequest,
    reply: TaskDto,
    description: 'Put a dead-lettered task back in its queue with a fresh attempt budget.',
  }),
} as const;

/** Queue depth by capability and priority (`swarm.cmd.coordinator.queues.depths`). */
export const QueueCommands = {
  depths: defineCommand({
    service: 'coordinator',
    command: 'queues.depths',
    request: TenantScopedDto,
    reply: QueueDepthsDto,
    description: 'Queue depths.',
  }),
} as const;
