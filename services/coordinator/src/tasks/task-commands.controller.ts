import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  CancelTaskRequest,
  CreateTaskRequest,
  GetTaskRequest,
  ListTasksRequest,
  NotFoundError,
  PRIORITY_RANK,
  SetTaskPriorityRequest,
  type SubmitTasksReply,
  SubmitTasksRequest,
  TaskCommands,
  type TaskDto,
  type TaskPageDto,
} from '@swarm-mesh/contracts';
import { HandleCommand } from '@swarm-mesh/service-kit';
import { EngineHost } from '../engine/engine.host';
import { toSubmittedTaskDto, toTaskDto } from '../engine/task-record';
import { encodeCursor } from '../engine/task-store';

/** Task commands: submit (group-committed), read, list, cancel, re-prioritise. */
@Controller()
export class TaskCommandsController {
  constructor(private readonly host: EngineHost) {}

  @HandleCommand(TaskCommands.submit)
  async submit(@Payload() req: SubmitTasksRequest): Promise<SubmitTasksReply> {
    const tasks = await this.host.engine.submit(req.tenantId, req.tasks);
    return { tasks: tasks.map(toSubmittedTaskDto) };
  }

  @HandleCommand(TaskCommands.create)
  async create(@Payload() req: CreateTaskRequest): Promise<TaskDto> {
    const [task] = await this.host.engine.submit(req.tenantId, [req.task]);
    return toTaskDto(task!);
  }

  @HandleCommand(TaskCommands.get)
  async get(@Payload() req: GetTaskRequest): Promise<TaskDto> {
    const t = await this.host.store.getTask(req.tenantId, req.taskId);
    if (!t) throw new NotFoundError('task', req.taskId);
    return toTaskDto(t);
  }

  @HandleCommand(TaskCommands.list)
  async list(@Payload() req: ListTasksRequest): Promise<TaskPageDto> {
    const page = await this.host.store.listTasks({
      tenantId: req.tenantId,
      ...(req.state ? { state: req.state } : {}),
      ...(req.capability ? { capability: req.capability } : {}),
      ...(req.priority ? { priority: PRIORITY_RANK[req.priority] } : {}),
      ...(req.agentId ? { agentId: req.agentId } : {}),
      limit: req.limit ?? 50,
      ...(req.cursor ? { cursor: req.cursor } : {}),
    });
    // a page must fit one NATS message: stop early (and hand out a cursor) when it grows large
    const budget = Math.floor(this.host.bus.nc.info?.max_payload ?? 1024 * 1024) * 0.8;
    const items: TaskDto[] = [];
    let size = 0;
    for (const t of page.items) {
      const dto = toTaskDto(t);
      size += Buffer.byteLength(JSON.stringify(dto));
      if (items.length > 0 && size > budget) {
        const last = page.items[items.length - 1]!;
        return { items, nextCursor: encodeCursor(last.createdAt, last.id) };
      }
      items.push(dto);
    }
    return { items, nextCursor: page.nextCursor };
  }

  @HandleCommand(TaskCommands.cancel)
  async cancel(@Payload() req: CancelTaskRequest): Promise<TaskDto> {
    return toTaskDto(await this.host.engine.cancel(req.tenantId, req.taskId, req.reason));
  }

  @HandleCommand(TaskCommands.setPriority)
  async setPriority(@Payload() req: SetTaskPriorityRequest): Promise<TaskDto> {
    return toTaskDto(await this.host.engine.setPriority(req.tenantId, req.taskId, req.priority));
  }
}
