import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  CancelTaskRequest,
  type CreateTaskItem,
  type CreateTaskOutcome,
  type CreateTasksReply,
  CreateTaskRequest,
  CreateTasksRequest,
  GetTaskRequest,
  InternalError,
  ListTasksRequest,
  NotFoundError,
  PRIORITY_RANK,
  SetTaskPriorityRequest,
  type SubmitTasksReply,
  SubmitTasksRequest,
  SwarmError,
  TaskCommands,
  type TaskDto,
  type TaskPageDto,
} from '@swarm-mesh/contracts';
import { HandleCommand, LOGGER } from '@swarm-mesh/service-kit';
import { context, fromTraceparent, type Logger, meshTracer, recordError, SpanKind, trace } from '@swarm-mesh/telemetry';
import { EngineHost } from '../engine/engine.host';
import { toSubmittedTaskDto, toTaskDto } from '../engine/task-record';
import { encodeCursor } from '../engine/task-store';

/** Task commands: submit (group-committed), read, list, cancel, re-prioritise. */
@Controller()
export class TaskCommandsController {
  constructor(
    private readonly host: EngineHost,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @HandleCommand(TaskCommands.submit)
  async submit(@Payload() req: SubmitTasksRequest): Promise<SubmitTasksReply> {
    const tasks = await this.host.engine.submit(req.tenantId, req.tasks);
    return { tasks: tasks.map(toSubmittedTaskDto) };
  }

  @HandleCommand(TaskCommands.create)
  async create(@Payload() req: CreateTaskRequest): Promise<TaskDto> {
    const [task] = await this.host.engine.submit(req.tenantId, [req.task], true);
    return toTaskDto(task!);
  }

  /**
   * Single submits a gateway gathered: every item goes into the engine as its own submit (they
   * share the tick's one commit) and is answered on its own. Each item gets the server span a
   * `tasks.create` request would have, under the gateway's span for it, so every task's trace
   * reads the same whichever way it came.
   */
  @HandleCommand(TaskCommands.createMany)
  async createMany(@Payload() req: CreateTasksRequest): Promise<CreateTasksReply> {
    return { items: await Promise.all(req.items.map((item) => this.createItem(item))) };
  }

  private async createItem(item: CreateTaskItem): Promise<CreateTaskOutcome> {
    const parent = fromTraceparent(item.traceparent);
    const span = meshTracer().startSpan(
      `handle ${TaskCommands.create.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'messaging.system': 'nats',
          'messaging.destination.name': TaskCommands.createMany.subject,
          'swarm.message.type': TaskCommands.create.name,
        },
      },
      parent,
    );
    try {
      const [task] = await context.with(trace.setSpan(parent, span), () => this.host.engine.submit(item.tenantId, [item.task], true));
      return { task: toTaskDto(task!) };
    } catch (err) {
      const se = err instanceof SwarmError ? err : new InternalError('internal error');
      if (!(err instanceof SwarmError)) this.logger.error('task create failed', { err });
      recordError(span, se);
      return { error: se.toWire() };
    } finally {
      span.end();
    }
  }

  @HandleCommand(TaskCommands.get)
  async get(@Payload() req: GetTaskRequest): Promise<TaskDto> {
    // a task in the working set is read from it: dispatched and running transitions reach
    // Postgres up to LAZY_WRITE_MS late; an ended task has left it and its row is current
    const live = this.host.engine.tasks.get(req.taskId);
    const t = live && live.tenantId === req.tenantId ? live : await this.host.store.getTask(req.tenantId, req.taskId);
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
