import { defineCommand } from '../definitions/definitions';
import { TaskDto } from '../dto/task.dto';
import {
  CancelWorkflowRequest,
  InstantiateTemplateRequest,
  ListTemplatesRequest,
  ListWorkflowsRequest,
  RegisterTemplateRequest,
  SubmitWorkflowRequest,
  TaskDecisionRequest,
  TaskTreeDto,
  TaskTreeRequest,
  TemplateRequest,
  WorkflowCoverageDto,
  WorkflowDto,
  WorkflowPageDto,
  WorkflowPlanDto,
  WorkflowRequest,
  WorkflowTemplateDto,
  WorkflowTemplatePageDto,
  WorkflowTreeDto,
} from '../dto/workflow.dto';

/** Workflow commands answered by the coordinator (`swarm.cmd.coordinator.workflows.*`). */
export const WorkflowCommands = {
  submit: defineCommand({
    service: 'coordinator',
    command: 'workflows.submit',
    request: SubmitWorkflowRequest,
    reply: WorkflowDto,
    timeoutMs: 30_000,
    maxPayloadBytes: 8 * 1024 * 1024,
    description: 'Submit a workflow (a DAG of tasks); validated whole (cycles, unknown references) and durable before the reply.',
  }),
  get: defineCommand({
    service: 'coordinator',
    command: 'workflows.get',
    request: WorkflowRequest,
    reply: WorkflowDto,
    description: 'Read one workflow: state, progress, nodes and requirement coverage.',
  }),
  list: defineCommand({
    service: 'coordinator',
    command: 'workflows.list',
    request: ListWorkflowsRequest,
    reply: WorkflowPageDto,
    description: 'List workflows newest first.',
  }),
  cancel: defineCommand({
    service: 'coordinator',
    command: 'workflows.cancel',
    request: CancelWorkflowRequest,
    reply: WorkflowDto,
    description: 'Cancel a workflow: pending and running nodes (and their subtasks) are cancelled.',
  }),
  plan: defineCommand({
    service: 'coordinator',
    command: 'workflows.plan',
    request: WorkflowRequest,
    reply: WorkflowPlanDto,
    description: 'Execution plan: topological levels, estimates and the critical path.',
  }),
  requirements: defineCommand({
    service: 'coordinator',
    command: 'workflows.requirements',
    request: WorkflowRequest,
    reply: WorkflowCoverageDto,
    description: 'Requirement coverage (covered, failed, pending) and the quality gate.',
  }),
  tree: defineCommand({
    service: 'coordinator',
    command: 'workflows.tree',
    request: WorkflowRequest,
    reply: WorkflowTreeDto,
    description: 'Every node of a workflow with its subtask tree (tier and state of each task).',
  }),
} as const;

/** Workflow templates (`swarm.cmd.coordinator.templates.*`). */
export const TemplateCommands = {
  register: defineCommand({
    service: 'coordinator',
    command: 'templates.register',
    request: RegisterTemplateRequest,
    reply: WorkflowTemplateDto,
    maxPayloadBytes: 4 * 1024 * 1024,
    description: 'Register (or replace, as a new version) a named workflow template.',
  }),
  get: defineCommand({
    service: 'coordinator',
    command: 'templates.get',
    request: TemplateRequest,
    reply: WorkflowTemplateDto,
    description: 'Read one template.',
  }),
  list: defineCommand({
    service: 'coordinator',
    command: 'templates.list',
    request: ListTemplatesRequest,
    reply: WorkflowTemplatePageDto,
    description: 'List templates by name (built-in ones included).',
  }),
  instantiate: defineCommand({
    service: 'coordinator',
    command: 'templates.instantiate',
    request: InstantiateTemplateRequest,
    reply: WorkflowDto,
    timeoutMs: 30_000,
    description: 'Submit a workflow from a template with parameters.',
  }),
} as const;

/** Human decisions and task trees (`swarm.cmd.coordinator.tasks.decide|tree`). */
export const TaskReviewCommands = {
  decide: defineCommand({
    service: 'coordinator',
    command: 'tasks.decide',
    request: TaskDecisionRequest,
    reply: TaskDto,
    description: 'Approve or reject a task behind its approval gate (or in needs_review); who and when are recorded.',
  }),
  tree: defineCommand({
    service: 'coordinator',
    command: 'tasks.tree',
    request: TaskTreeRequest,
    reply: TaskTreeDto,
    description: 'The subtask tree a task belongs to, from its root, with each task’s tier and state.',
  }),
} as const;
