import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  SubmitWorkflowDto,
  WorkflowCommands,
  WorkflowCoverageDto,
  WorkflowDto,
  WorkflowPageDto,
  WorkflowPlanDto,
  WorkflowTreeDto,
} from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { MESH_BUS } from '@swarm-mesh/service-kit';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { OVERSIZED_WORKFLOW, rethrowOversizedSubmit } from '../tasks/task-input';
import { API_PREFIX } from '../http/api-prefix';
import { UUID_PARAM_SCHEMA, UuidParamPipe } from '../http/path-params';
import { ApiBodyFrom, ApiCreatedBody, ApiErrors, ApiKeyAuth, ApiOkBody, ApiPathParam, ApiQueryFrom } from '../openapi/api-docs.decorators';
import { openApiSchemas } from '../openapi/validator-schemas';
import { CancelWorkflowBody, ListWorkflowsQuery } from './workflows.dto';

const WORKFLOW_ID = ApiPathParam('id', 'Workflow id', UUID_PARAM_SCHEMA);

openApiSchemas.annotate(SubmitWorkflowDto, 'nodes', {
  description:
    'The DAG. Each node: key, capability, input, dependsOn (keys), inputs (target path → "${<node>.result.<path>}" expressions over ancestors\' results), ' +
    'validation (output checks), approval ({required, approvers}), retry, timeouts. Cycles are rejected with 422 WORKFLOW_CYCLE (details.cycle), ' +
    'references to unknown nodes with 422 UNKNOWN_DEPENDENCY (details.path); nothing is written.',
});

/** Workflows: DAGs of tasks with input mapping, failure policy, approvals and requirement coverage. */
@ApiTags('workflows')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/workflows`)
export class WorkflowsController {
  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Submit a workflow',
    description:
      'Validated whole before anything is written (cycles, unknown references, mappings). Answers 201 once every node task is durable: ' +
      'nodes without dependencies are queued, the others `pending` until their dependencies succeed (and are approved, when they require it).',
  })
  @ApiBodyFrom(SubmitWorkflowDto)
  @ApiCreatedBody(WorkflowDto, 'The created workflow')
  @ApiErrors(403, 409, 413, 422)
  async submit(@Body() workflow: SubmitWorkflowDto, @CurrentPrincipal() p: Principal): Promise<WorkflowDto> {
    return this.bus
      .request(WorkflowCommands.submit, { tenantId: p.tenantId, workflow })
      .catch((err: unknown) => rethrowOversizedSubmit(err, workflow, this.bus.nc.info?.max_payload, OVERSIZED_WORKFLOW));
  }

  @Get()
  @ApiOperation({ summary: 'List workflows, newest first', description: 'Pass `nextCursor` back as `cursor` for the next page.' })
  @ApiQueryFrom(ListWorkflowsQuery)
  @ApiOkBody(WorkflowPageDto, 'A page of workflows')
  @ApiErrors()
  async list(@Query() q: ListWorkflowsQuery, @CurrentPrincipal() p: Principal): Promise<WorkflowPageDto> {
    return this.bus.request(WorkflowCommands.list, { ...q, tenantId: p.tenantId });
  }

  @Get(':id')
  @ApiOperation({
    summary: 'Read one workflow',
    description: 'State, progress, every node (state, attempts, approval) and requirement coverage.',
  })
  @WORKFLOW_ID
  @ApiOkBody(WorkflowDto, 'The workflow')
  @ApiErrors(404)
  async get(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<WorkflowDto> {
    return this.bus.request(WorkflowCommands.get, { tenantId: p.tenantId, workflowId: id });
  }

  @Get(':id/plan')
  @ApiOperation({
    summary: 'Execution plan',
    description: 'Topological levels, per-node estimates (recent run times of the capability when known) and the critical path.',
  })
  @WORKFLOW_ID
  @ApiOkBody(WorkflowPlanDto, 'The plan')
  @ApiErrors(404)
  async plan(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<WorkflowPlanDto> {
    return this.bus.request(WorkflowCommands.plan, { tenantId: p.tenantId, workflowId: id });
  }

  @Get(':id/requirements')
  @ApiOperation({
    summary: 'Requirement coverage',
    description: 'Each requirement covered, failed or pending, the coverage and the quality gate.',
  })
  @WORKFLOW_ID
  @ApiOkBody(WorkflowCoverageDto, 'Coverage')
  @ApiErrors(404)
  async requirements(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<WorkflowCoverageDto> {
    return this.bus.request(WorkflowCommands.requirements, { tenantId: p.tenantId, workflowId: id });
  }

  @Get(':id/tree')
  @ApiOperation({
    summary: 'Task tree',
    description: 'Every node with the subtasks its agents spawned: tier, depth and state of each task.',
  })
  @WORKFLOW_ID
  @ApiOkBody(WorkflowTreeDto, 'The tree')
  @ApiErrors(404)
  async tree(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<WorkflowTreeDto> {
    return this.bus.request(WorkflowCommands.tree, { tenantId: p.tenantId, workflowId: id });
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel a workflow',
    description: 'Pending and running nodes (and their subtasks) are cancelled; the workflow ends `cancelled`.',
  })
  @WORKFLOW_ID
  @ApiBodyFrom(CancelWorkflowBody, { required: false })
  @ApiOkBody(WorkflowDto, 'The workflow after the cancellation')
  @ApiErrors(403, 404, 409)
  async cancel(
    @Param('id', UuidParamPipe) id: string,
    @Body() body: CancelWorkflowBody,
    @CurrentPrincipal() p: Principal,
  ): Promise<WorkflowDto> {
    return this.bus.request(WorkflowCommands.cancel, {
      tenantId: p.tenantId,
      workflowId: id,
      ...(body.reason !== undefined ? { reason: body.reason } : {}),
    });
  }
}
