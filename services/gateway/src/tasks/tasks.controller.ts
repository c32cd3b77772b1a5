import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  MAX_TASK_INPUT_BYTES,
  SubmitTaskDto,
  SubmitTasksReply,
  TaskCommands,
  type TaskDecision,
  TaskDto,
  TaskPageDto,
  TaskReviewCommands,
  TaskTreeDto,
} from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { MESH_BUS } from '@swarm-mesh/service-kit';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { API_PREFIX } from '../http/api-prefix';
import { UUID_PARAM_SCHEMA, UuidParamPipe } from '../http/path-params';
import { ApiBodyFrom, ApiCreatedBody, ApiErrors, ApiKeyAuth, ApiOkBody, ApiPathParam, ApiQueryFrom } from '../openapi/api-docs.decorators';
import { openApiSchemas } from '../openapi/validator-schemas';
import { assertTaskInputSize, rethrowOversizedSubmit } from './task-input';
import { TaskSubmitter } from './task-submitter';
import { CancelTaskBody, ListTasksQuery, SetTaskPriorityBody, SubmitTaskBatchBody, TaskDecisionBody } from './tasks.dto';

const TASK_ID = ApiPathParam('id', 'Task id', UUID_PARAM_SCHEMA);

openApiSchemas.annotate(SubmitTaskDto, 'input', {
  description: `Handler input (default {}); at most ${MAX_TASK_INPUT_BYTES} bytes of JSON, else 413 PAYLOAD_TOO_LARGE`,
  'x-max-json-bytes': MAX_TASK_INPUT_BYTES,
});

/** Tasks: submit, read, list, cancel, re-prioritise. Each route is one coordinator command. */
@ApiTags('tasks')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/tasks`)
export class TasksController {
  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    private readonly submitter: TaskSubmitter,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Submit one task', description: 'Answers 201 once the task is durable.' })
  @ApiBodyFrom(SubmitTaskDto)
  @ApiCreatedBody(TaskDto, 'The created task')
  @ApiErrors(403, 409, 413, 422)
  async submit(@Body() task: SubmitTaskDto, @CurrentPrincipal() p: Principal): Promise<TaskDto> {
    const inputBytes = assertTaskInputSize(task);
    return this.submitter
      .create(p.tenantId, task, inputBytes)
      .catch((err: unknown) => rethrowOversizedSubmit(err, task, this.bus.nc.info?.max_payload));
  }

  @Post('batch')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Submit up to 1000 tasks, all or nothing',
    description: 'Answers 201 once every task is durable, with a compact entry per task (id, state, traceId…) in request order.',
  })
  @ApiBodyFrom(SubmitTaskBatchBody)
  @ApiCreatedBody(SubmitTasksReply, 'The created tasks, in request order')
  @ApiErrors(403, 409, 413, 422)
  async submitBatch(@Body() body: SubmitTaskBatchBody, @CurrentPrincipal() p: Principal): Promise<SubmitTasksReply> {
    body.tasks.forEach((t, i) => assertTaskInputSize(t, i));
    return this.bus
      .request(TaskCommands.submit, { tenantId: p.tenantId, tasks: body.tasks })
      .catch((err: unknown) => rethrowOversizedSubmit(err, body, this.bus.nc.info?.max_payload));
  }

  @Get()
  @ApiOperation({ summary: 'List tasks, newest first', description: 'Pass `nextCursor` back as `cursor` for the next page.' })
  @ApiQueryFrom(ListTasksQuery)
  @ApiOkBody(TaskPageDto, 'A page of tasks')
  @ApiErrors()
  async list(@Query() q: ListTasksQuery, @CurrentPrincipal() p: Principal): Promise<TaskPageDto> {
    return this.bus.request(TaskCommands.list, { ...q, tenantId: p.tenantId });
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read one task', description: 'State, every attempt (the error history), result, progress, trace id.' })
  @TASK_ID
  @ApiOkBody(TaskDto, 'The task')
  @ApiErrors(404)
  async get(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<TaskDto> {
    return this.bus.request(TaskCommands.get, { tenantId: p.tenantId, taskId: id });
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a task', description: 'A running attempt’s abort signal fires; the task ends `cancelled`.' })
  @TASK_ID
  @ApiBodyFrom(CancelTaskBody, { required: false })
  @ApiOkBody(TaskDto, 'The task after the cancellation')
  @ApiErrors(403, 404, 409)
  async cancel(@Param('id', UuidParamPipe) id: string, @Body() body: CancelTaskBody, @CurrentPrincipal() p: Principal): Promise<TaskDto> {
    return this.bus.request(TaskCommands.cancel, {
      tenantId: p.tenantId,
      taskId: id,
      ...(body.reason !== undefined ? { reason: body.reason } : {}),
    });
  }

  @Post(':id/priority')
  @HttpCode(200)
  @ApiOperation({ summary: 'Change the priority of a task' })
  @TASK_ID
  @ApiBodyFrom(SetTaskPriorityBody)
  @ApiOkBody(TaskDto, 'The task with its new priority')
  @ApiErrors(403, 404, 409)
  async setPriority(
    @Param('id', UuidParamPipe) id: string,
    @Body() body: SetTaskPriorityBody,
    @CurrentPrincipal() p: Principal,
  ): Promise<TaskDto> {
    return this.bus.request(TaskCommands.setPriority, { tenantId: p.tenantId, taskId: id, priority: body.priority });
  }

  @Get(':id/tree')
  @ApiOperation({
    summary: 'The subtask tree of a task',
    description:
      'From the root of the task’s tree: every task spawned below it, with its tier (orchestrator → master → specialist → microtask), depth and state.',
  })
  @TASK_ID
  @ApiOkBody(TaskTreeDto, 'The tree')
  @ApiErrors(404)
  async tree(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<TaskTreeDto> {
    return this.bus.request(TaskReviewCommands.tree, { tenantId: p.tenantId, taskId: id });
  }

  @Post(':id/approve')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Approve a task',
    description:
      'A succeeded task behind its approval gate: its dependants in the workflow run. A task in `needs_review` (its result failed its checks): the result is accepted and the task succeeds. Who and when are recorded (`approval`).',
  })
  @TASK_ID
  @ApiBodyFrom(TaskDecisionBody, { required: false })
  @ApiOkBody(TaskDto, 'The task with the decision recorded')
  @ApiErrors(403, 404, 409)
  async approve(
    @Param('id', UuidParamPipe) id: string,
    @Body() body: TaskDecisionBody,
    @CurrentPrincipal() p: Principal,
  ): Promise<TaskDto> {
    return this.decide(id, 'approve', body, p);
  }

  @Post(':id/reject')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Reject a task',
    description:
      'A succeeded task behind its approval gate: the node counts as failed (the workflow’s failure policy applies). A task in `needs_review`: it fails. Who and when are recorded.',
  })
  @TASK_ID
  @ApiBodyFrom(TaskDecisionBody, { required: false })
  @ApiOkBody(TaskDto, 'The task with the decision recorded')
  @ApiErrors(403, 404, 409)
  async reject(@Param('id', UuidParamPipe) id: string, @Body() body: TaskDecisionBody, @CurrentPrincipal() p: Principal): Promise<TaskDto> {
    return this.decide(id, 'reject', body, p);
  }

  private decide(taskId: string, decision: TaskDecision, body: TaskDecisionBody, p: Principal): Promise<TaskDto> {
    return this.bus.request(TaskReviewCommands.decide, {
      tenantId: p.tenantId,
      taskId,
      decision,
      actor: `api-key:${p.keyId}`,
      ...(p.name ? { actorName: p.name.slice(0, 200) } : {}),
      ...(body.comment !== undefined ? { comment: body.comment } : {}),
    });
  }
}
