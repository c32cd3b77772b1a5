import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  CancelWorkflowRequest,
  InstantiateTemplateRequest,
  ListTemplatesRequest,
  ListWorkflowsRequest,
  RegisterTemplateRequest,
  SubmitWorkflowRequest,
  TemplateCommands,
  TemplateRequest,
  type WorkflowCoverageDto,
  WorkflowCommands,
  type WorkflowDto,
  type WorkflowPageDto,
  type WorkflowPlanDto,
  WorkflowRequest,
  type WorkflowTemplateDto,
  type WorkflowTemplatePageDto,
  type WorkflowTreeDto,
} from '@swarm-mesh/contracts';
import { HandleCommand } from '@swarm-mesh/service-kit';
import { EngineHost } from '../engine/engine.host';
import { validateWorkflow } from './graph';
import { WorkflowReads } from './workflow-reads';

/** Workflows (submit, read, list, cancel, plan, requirements, tree) and workflow templates. */
@Controller()
export class WorkflowCommandsController {
  private readonly reads: WorkflowReads;

  constructor(private readonly host: EngineHost) {
    this.reads = new WorkflowReads(host.engine, host.store);
  }

  @HandleCommand(WorkflowCommands.submit)
  async submit(@Payload() req: SubmitWorkflowRequest): Promise<WorkflowDto> {
    // the whole graph is checked before anything is written (cycles, unknown references, mappings)
    const spec = validateWorkflow(req.workflow);
    const id = await this.host.engine.submitWorkflow(req.tenantId, req.workflow, spec);
    return this.reads.workflow(req.tenantId, id);
  }

  @HandleCommand(WorkflowCommands.get)
  get(@Payload() req: WorkflowRequest): Promise<WorkflowDto> {
    return this.reads.workflow(req.tenantId, req.workflowId);
  }

  @HandleCommand(WorkflowCommands.list)
  list(@Payload() req: ListWorkflowsRequest): Promise<WorkflowPageDto> {
    return this.reads.list(req.tenantId, req.state, req.limit ?? 50, req.cursor);
  }

  @HandleCommand(WorkflowCommands.cancel)
  async cancel(@Payload() req: CancelWorkflowRequest): Promise<WorkflowDto> {
    await this.host.engine.cancelWorkflow(req.tenantId, req.workflowId, req.reason);
    return this.reads.workflow(req.tenantId, req.workflowId);
  }

  @HandleCommand(WorkflowCommands.plan)
  plan(@Payload() req: WorkflowRequest): Promise<WorkflowPlanDto> {
    return this.reads.plan(req.tenantId, req.workflowId);
  }

  @HandleCommand(WorkflowCommands.requirements)
  requirements(@Payload() req: WorkflowRequest): Promise<WorkflowCoverageDto> {
    return this.reads.coverage(req.tenantId, req.workflowId);
  }

  @HandleCommand(WorkflowCommands.tree)
  tree(@Payload() req: WorkflowRequest): Promise<WorkflowTreeDto> {
    return this.reads.workflowTree(req.tenantId, req.workflowId);
  }

  @HandleCommand(TemplateCommands.register)
  register(@Payload() req: RegisterTemplateRequest): Promise<WorkflowTemplateDto> {
    return this.reads.registerTemplate(req.tenantId, req.template);
  }

  @HandleCommand(TemplateCommands.get)
  template(@Payload() req: TemplateRequest): Promise<WorkflowTemplateDto> {
    return this.reads.template(req.tenantId, req.name);
  }

  @HandleCommand(TemplateCommands.list)
  templates(@Payload() req: ListTemplatesRequest): Promise<WorkflowTemplatePageDto> {
    return this.reads.templates(req.tenantId, req.limit ?? 50, req.cursor);
  }

  @HandleCommand(TemplateCommands.instantiate)
  instantiate(@Payload() req: InstantiateTemplateRequest): Promise<WorkflowDto> {
    return this.reads.instantiate(req.tenantId, req.name, req.body);
  }
}
