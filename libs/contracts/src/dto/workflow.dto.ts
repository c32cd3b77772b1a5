import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsISO8601,
  IsNumber,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import {
  FAILURE_POLICIES,
  type FailurePolicy,
  PRIORITIES,
  type Priority,
  REQUIREMENT_STATUSES,
  type RequirementStatus,
  TASK_STATES,
  TASK_TIERS,
  type TaskState,
  type TaskTier,
  WORKFLOW_NODE_STATES,
  WORKFLOW_STATES,
  type WorkflowNodeState,
  type WorkflowState,
} from '../enums';
import { CAPABILITY_RE, IsPlainObject, IsStringRecord, MaxJsonBytes, TENANT_ID_RE } from '../validation/validators';
import { TenantScopedDto } from './task-commands.dto';
import { RetryPolicyDto, TaskErrorDto, TaskResourcesDto, TaskRoutingDto, TaskTimeoutsDto } from './task.dto';
import { ApprovalSpecDto, FIELD_PATH_RE, TaskApprovalDto, ValidationSpecDto } from './validation.dto';

/** Most nodes in one workflow. */
export const MAX_WORKFLOW_NODES = 1000;
/** Node keys: letters, digits, `_` and `-` (no dots: references use them as separators). */
export const NODE_KEY_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** Requirement ids, e.g. `REQ-1`. */
export const REQUIREMENT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
/** Template names: lowercase, digits, `-`, `_`, `.`. */
export const TEMPLATE_NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
/** Template parameter names. */
export const TEMPLATE_PARAM_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * One node of a workflow: a task plus its place in the graph.
 *
 * **Input mapping.** `inputs` maps a path in this node's input to an expression over the results
 * of the nodes it depends on (directly or transitively):
 * `"${fetch.result.records}"` (a whole value of any JSON type when the string is exactly one
 * reference), `"Summarise ${analyse.result.summary} for ${params.topic}"` (text interpolation:
 * values are inserted as text, objects as JSON). A reference is `${<node>.result}` or
 * `${<node>.result.<path>}` (path as in `records.0.title`). The mapped values are merged into
 * `input` (target paths may be dotted: `article.body`) when the node becomes ready. A referenced
 * path missing from the parent's result fails the node with `INPUT_MAPPING_FAILED`.
 */
export class WorkflowNodeDto {
  /** Unique within the workflow. */
  @Matches(NODE_KEY_RE, { message: 'key must match ^[A-Za-z][A-Za-z0-9_-]{0,63}$' })
  key!: string;

  @Matches(CAPABILITY_RE, { message: 'capability must match ^[a-z0-9][a-z0-9_.:-]{0,127}$' })
  capability!: string;

  /** Static input (default {}); mapped parent outputs are merged into it. */
  @IsOptional()
  @IsPlainObject()
  input?: Record<string, unknown>;

  /** Keys of the nodes that must succeed (and be approved, when they require it) first. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_WORKFLOW_NODES)
  @IsString({ each: true })
  @Length(1, 64, { each: true })
  dependsOn?: string[];

  /** Target input path → expression (see the class comment). */
  @IsOptional()
  @IsStringRecord(64, 2000)
  inputs?: Record<string, string>;

  /** Default: the workflow's priority. */
  @IsOptional()
  @IsIn(PRIORITIES)
  priority?: Priority;

  @IsOptional()
  @ValidateNested()
  @Type(() => RetryPolicyDto)
  retry?: RetryPolicyDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskTimeoutsDto)
  timeouts?: TaskTimeoutsDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskRoutingDto)
  routing?: TaskRoutingDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskResourcesDto)
  resources?: TaskResourcesDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => ValidationSpecDto)
  @MaxJsonBytes(64 * 1024)
  validation?: ValidationSpecDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => ApprovalSpecDto)
  approval?: ApprovalSpecDto;

  /** Default `orchestrator` (a node is the top of its own subtask tree). */
  @IsOptional()
  @IsIn(TASK_TIERS)
  tier?: TaskTier;

  @IsOptional()
  @IsStringRecord(32, 256)
  labels?: Record<string, string>;
}

/** Something that satisfies a requirement: a node (that must succeed), optionally a field of its result (that must be non-empty). */
export class RequirementSourceDto {
  @Matches(NODE_KEY_RE)
  node!: string;

  @IsOptional()
  @Matches(FIELD_PATH_RE)
  field?: string;
}

/** A requirement the workflow must cover (the seeds' requirement tracking). */
export class RequirementDto {
  @Matches(REQUIREMENT_ID_RE)
  id!: string;

  @IsString()
  @Length(1, 2000)
  description!: string;

  /** Every source must hold for the requirement to be covered. */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => RequirementSourceDto)
  satisfiedBy!: RequirementSourceDto[];
}

/** Decides whether a workflow that ran to its end succeeded. */
export class QualityGateDto {
  /** Fraction 0..1 of requirements that must be covered. Default 1 when requirements are declared. */
  @IsNumber()
  @Min(0)
  @Max(1)
  minCoverage!: number;
}

/** A workflow to submit: a DAG of tasks. */
export class SubmitWorkflowDto {
  @IsString()
  @Length(1, 200)
  name!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_WORKFLOW_NODES)
  @ValidateNested({ each: true })
  @Type(() => WorkflowNodeDto)
  nodes!: WorkflowNodeDto[];

  /** Default `fail_fast`. */
  @IsOptional()
  @IsIn(FAILURE_POLICIES)
  failurePolicy?: FailurePolicy;

  /** Default priority of the nodes (MEDIUM). */
  @IsOptional()
  @IsIn(PRIORITIES)
  priority?: Priority;

  /** A second submit with the same key (same tenant) is rejected with DUPLICATE_IDEMPOTENCY_KEY. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  idempotencyKey?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(500)
  @ValidateNested({ each: true })
  @Type(() => RequirementDto)
  requirements?: RequirementDto[];

  @IsOptional()
  @ValidateNested()
  @Type(() => QualityGateDto)
  qualityGate?: QualityGateDto;

  @IsOptional()
  @IsStringRecord(32, 256)
  labels?: Record<string, string>;
}

/** Node counts of a workflow. */
export class WorkflowProgressDto {
  @IsInt()
  @Min(0)
  total!: number;

  /** Nodes that succeeded (and were approved when they needed to be). */
  @IsInt()
  @Min(0)
  succeeded!: number;

  /** Nodes that failed, timed out, were dead-lettered or rejected. */
  @IsInt()
  @Min(0)
  failed!: number;

  @IsInt()
  @Min(0)
  cancelled!: number;

  /** Queued, dispatched, running or waiting for a retry. */
  @IsInt()
  @Min(0)
  active!: number;

  /** Waiting for their dependencies. */
  @IsInt()
  @Min(0)
  pending!: number;

  /** Succeeded, waiting for a human approval. */
  @IsInt()
  @Min(0)
  awaitingApproval!: number;

  /** Result failed its checks; waiting for a human review. */
  @IsInt()
  @Min(0)
  needsReview!: number;

  /** Ended nodes / total, 0..1. */
  @IsNumber()
  @Min(0)
  @Max(1)
  percent!: number;
}

/** One node of a workflow as read back. */
export class WorkflowNodeStatusDto {
  @Matches(NODE_KEY_RE)
  key!: string;

  @IsUUID()
  taskId!: string;

  @Matches(CAPABILITY_RE)
  capability!: string;

  /** The task's state, or `awaiting_approval` / `rejected` for a succeeded node behind its approval gate. */
  @IsIn(WORKFLOW_NODE_STATES)
  state!: WorkflowNodeState;

  @IsIn(TASK_STATES)
  taskState!: TaskState;

  @IsArray()
  @IsString({ each: true })
  dependsOn!: string[];

  @IsInt()
  @Min(0)
  attempt!: number;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskApprovalDto)
  approval?: TaskApprovalDto | null;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskErrorDto)
  error?: TaskErrorDto | null;

  @IsOptional()
  @IsISO8601()
  startedAt?: string | null;

  @IsOptional()
  @IsISO8601()
  finishedAt?: string | null;
}

/** How one source of a requirement stands. */
export class RequirementSourceStatusDto {
  @Matches(NODE_KEY_RE)
  node!: string;

  @IsOptional()
  @Matches(FIELD_PATH_RE)
  field?: string;

  @IsIn(REQUIREMENT_STATUSES)
  status!: RequirementStatus;

  /** Why it failed or is still pending. */
  @IsOptional()
  @IsString()
  @Length(1, 1000)
  reason?: string;
}

/** Coverage of one requirement. */
export class RequirementCoverageDto {
  @Matches(REQUIREMENT_ID_RE)
  id!: string;

  @IsString()
  @Length(1, 2000)
  description!: string;

  /** `covered` when every source holds, `failed` when one cannot any more, else `pending`. */
  @IsIn(REQUIREMENT_STATUSES)
  status!: RequirementStatus;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => RequirementSourceStatusDto)
  satisfiedBy!: RequirementSourceStatusDto[];
}

/** Outcomes of the quality gate. */
export const GATE_STATUSES = ['passed', 'failed', 'pending'] as const;
export type GateStatus = (typeof GATE_STATUSES)[number];

/** `GET /workflows/{id}/requirements`: requirement coverage and the quality gate. */
export class WorkflowCoverageDto {
  @IsUUID()
  workflowId!: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => RequirementCoverageDto)
  requirements!: RequirementCoverageDto[];

  @IsInt()
  @Min(0)
  total!: number;

  @IsInt()
  @Min(0)
  covered!: number;

  @IsInt()
  @Min(0)
  failed!: number;

  @IsInt()
  @Min(0)
  pending!: number;

  /** covered / total (1 when no requirement is declared). */
  @IsNumber()
  @Min(0)
  @Max(1)
  coverage!: number;

  /** The gate's minimum (null: no requirements, the gate is "every node succeeded"). */
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  minCoverage?: number | null;

  /** `passed` once coverage reaches the minimum; `failed` once it no longer can. */
  @IsIn(GATE_STATUSES)
  gate!: GateStatus;
}

/** Why a workflow failed or was cancelled. */
export class WorkflowErrorDto {
  @IsString()
  @Length(1, 200)
  code!: string;

  @IsString()
  @Length(1, 4000)
  message!: string;

  @IsOptional()
  @IsPlainObject()
  details?: Record<string, unknown>;
}

/** A workflow as listed (no nodes). */
export class WorkflowSummaryDto {
  @IsUUID()
  id!: string;

  @Matches(TENANT_ID_RE)
  tenantId!: string;

  @IsString()
  @Length(1, 200)
  name!: string;

  @IsIn(WORKFLOW_STATES)
  state!: WorkflowState;

  @IsIn(FAILURE_POLICIES)
  failurePolicy!: FailurePolicy;

  /** The template it was instantiated from, if any. */
  @IsOptional()
  @IsString()
  template?: string | null;

  @IsOptional()
  @IsString()
  idempotencyKey?: string | null;

  @ValidateNested()
  @Type(() => WorkflowProgressDto)
  @IsDefined()
  progress!: WorkflowProgressDto;

  /** Requirement coverage 0..1 (null when none is declared). */
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  coverage?: number | null;

  @IsOptional()
  @ValidateNested()
  @Type(() => WorkflowErrorDto)
  error?: WorkflowErrorDto | null;

  @IsStringRecord(32, 256)
  labels!: Record<string, string>;

  @IsISO8601()
  createdAt!: string;

  @IsISO8601()
  updatedAt!: string;

  @IsOptional()
  @IsISO8601()
  finishedAt?: string | null;
}

/** A workflow with its nodes (`GET /workflows/{id}`). */
export class WorkflowDto extends WorkflowSummaryDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => WorkflowNodeStatusDto)
  nodes!: WorkflowNodeStatusDto[];

  /** Template parameters it was instantiated with. */
  @IsOptional()
  @IsPlainObject()
  params?: Record<string, unknown> | null;

  @IsOptional()
  @ValidateNested()
  @Type(() => WorkflowCoverageDto)
  requirements?: WorkflowCoverageDto | null;
}

/** A page of workflows, newest first. */
export class WorkflowPageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => WorkflowSummaryDto)
  items!: WorkflowSummaryDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

/** One node in the execution plan. */
export class PlanNodeDto {
  @Matches(NODE_KEY_RE)
  key!: string;

  @Matches(CAPABILITY_RE)
  capability!: string;

  /** Topological level: 0 for nodes without dependencies, else 1 + the deepest dependency's level. */
  @IsInt()
  @Min(0)
  level!: number;

  @IsArray()
  @IsString({ each: true })
  dependsOn!: string[];

  /** Estimated run time (per-capability history when known, else the default). */
  @IsInt()
  @Min(0)
  estimatedMs!: number;

  /** Where the estimate comes from: `history` (recent attempts of the capability) or `default`. */
  @IsIn(['history', 'default'])
  estimateSource!: 'history' | 'default';

  /** Earliest start after the workflow starts, with unlimited parallelism. */
  @IsInt()
  @Min(0)
  earliestStartMs!: number;

  /** How much the node may slip without delaying the workflow (0 on the critical path). */
  @IsInt()
  @Min(0)
  slackMs!: number;

  @IsBoolean()
  critical!: boolean;
}

/** `GET /workflows/{id}/plan`: topological levels and the critical path. */
export class WorkflowPlanDto {
  @IsUUID()
  workflowId!: string;

  /** Node keys by level: every node of a level can run in parallel once the previous levels are done. */
  @IsArray()
  levels!: string[][];

  @IsArray()
  @IsString({ each: true })
  criticalPath!: string[];

  /** Estimated length of the critical path. */
  @IsInt()
  @Min(0)
  estimatedMs!: number;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => PlanNodeDto)
  nodes!: PlanNodeDto[];
}

/** One node of a task tree (`GET /tasks/{id}/tree`, `GET /workflows/{id}/tree`). */
export class TaskTreeNodeDto {
  @IsUUID()
  id!: string;

  @Matches(CAPABILITY_RE)
  capability!: string;

  @IsIn(TASK_STATES)
  state!: TaskState;

  @IsIn(TASK_TIERS)
  tier!: TaskTier;

  @IsInt()
  @Min(0)
  depth!: number;

  @IsOptional()
  @IsString()
  nodeKey?: string | null;

  @IsOptional()
  @IsString()
  spawnKey?: string | null;

  @IsOptional()
  @IsUUID()
  parentTaskId?: string | null;

  @IsOptional()
  @ValidateNested()
  @Type(() => TaskApprovalDto)
  approval?: TaskApprovalDto | null;

  @IsISO8601()
  createdAt!: string;

  @IsOptional()
  @IsISO8601()
  finishedAt?: string | null;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => TaskTreeNodeDto)
  children!: TaskTreeNodeDto[];
}

/** A task's whole subtask tree, from its root. */
export class TaskTreeDto {
  @ValidateNested()
  @Type(() => TaskTreeNodeDto)
  @IsDefined()
  root!: TaskTreeNodeDto;

  /** Tasks in the tree. */
  @IsInt()
  @Min(1)
  size!: number;
}

/** A workflow's nodes, each with its subtask tree. */
export class WorkflowTreeDto {
  @IsUUID()
  workflowId!: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => TaskTreeNodeDto)
  nodes!: TaskTreeNodeDto[];

  @IsInt()
  @Min(0)
  size!: number;
}

// ── templates ─────────────────────────────────────────────────────────────

export const TEMPLATE_PARAM_TYPES = ['string', 'number', 'boolean', 'object', 'array'] as const;
export type TemplateParamType = (typeof TEMPLATE_PARAM_TYPES)[number];

/** A parameter of a workflow template. */
export class TemplateParamDto {
  @Matches(TEMPLATE_PARAM_RE)
  name!: string;

  @IsIn(TEMPLATE_PARAM_TYPES)
  type!: TemplateParamType;

  @IsOptional()
  @IsString()
  @Length(1, 1000)
  description?: string;

  /** Must be given at instantiation (unless `defaults` has a value). Default false. */
  @IsOptional()
  @IsBoolean()
  required?: boolean;
}

/**
 * A reusable workflow: `workflow` may use `${params.<name>}` in any string of a node's `input`,
 * in its `inputs` expressions, in the workflow name and in labels. A string that is exactly one
 * `${params.x}` becomes the parameter's value (any JSON type); otherwise it is text interpolation.
 */
export class RegisterTemplateDto {
  @Matches(TEMPLATE_NAME_RE, { message: 'name must match ^[a-z0-9][a-z0-9_.-]{0,63}$' })
  name!: string;

  @IsOptional()
  @IsString()
  @Length(1, 2000)
  description?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => TemplateParamDto)
  params?: TemplateParamDto[];

  /** Parameter values used when instantiation leaves them out. */
  @IsOptional()
  @IsPlainObject()
  @MaxJsonBytes(64 * 1024)
  defaults?: Record<string, unknown>;

  @ValidateNested()
  @Type(() => SubmitWorkflowDto)
  @IsDefined()
  workflow!: SubmitWorkflowDto;
}

/** A template as read back. */
export class WorkflowTemplateDto extends RegisterTemplateDto {
  /** 1 at the first registration, +1 at each re-registration under the same name. */
  @IsInt()
  @Min(1)
  version!: number;

  /** Shipped with the coordinator (a tenant may register its own under the same name to replace it). */
  @IsBoolean()
  builtin!: boolean;

  @IsISO8601()
  createdAt!: string;

  @IsISO8601()
  updatedAt!: string;
}

export class WorkflowTemplatePageDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => WorkflowTemplateDto)
  items!: WorkflowTemplateDto[];

  @IsOptional()
  @IsString()
  nextCursor!: string | null;
}

/** `POST /workflow-templates/{name}/instantiate` body. */
export class InstantiateTemplateDto {
  @IsOptional()
  @IsPlainObject()
  @MaxJsonBytes(64 * 1024)
  params?: Record<string, unknown>;

  /** Default: the template's workflow name (after parameter substitution). */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  idempotencyKey?: string;

  @IsOptional()
  @IsStringRecord(32, 256)
  labels?: Record<string, string>;
}

// ── coordinator commands ──────────────────────────────────────────────────

/** `coordinator.workflows.submit` */
export class SubmitWorkflowRequest extends TenantScopedDto {
  @ValidateNested()
  @Type(() => SubmitWorkflowDto)
  @IsDefined()
  workflow!: SubmitWorkflowDto;
}

/** `coordinator.workflows.get|plan|requirements|tree` */
export class WorkflowRequest extends TenantScopedDto {
  @IsUUID()
  workflowId!: string;
}

/** `coordinator.workflows.list` */
export class ListWorkflowsRequest extends TenantScopedDto {
  @IsOptional()
  @IsIn(WORKFLOW_STATES)
  state?: WorkflowState;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @IsOptional()
  @IsString()
  @Length(1, 500)
  cursor?: string;
}

/** `coordinator.workflows.cancel` */
export class CancelWorkflowRequest extends TenantScopedDto {
  @IsUUID()
  workflowId!: string;

  @IsOptional()
  @IsString()
  @Length(1, 1000)
  reason?: string;
}

/** `coordinator.templates.register` */
export class RegisterTemplateRequest extends TenantScopedDto {
  @ValidateNested()
  @Type(() => RegisterTemplateDto)
  @IsDefined()
  template!: RegisterTemplateDto;
}

/** `coordinator.templates.get` */
export class TemplateRequest extends TenantScopedDto {
  @Matches(TEMPLATE_NAME_RE)
  name!: string;
}

/** `coordinator.templates.list` */
export class ListTemplatesRequest extends TenantScopedDto {
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @IsOptional()
  @IsString()
  @Length(1, 500)
  cursor?: string;
}

/** `coordinator.templates.instantiate` */
export class InstantiateTemplateRequest extends TenantScopedDto {
  @Matches(TEMPLATE_NAME_RE)
  name!: string;

  @ValidateNested()
  @Type(() => InstantiateTemplateDto)
  @IsDefined()
  body!: InstantiateTemplateDto;
}

export const TASK_DECISIONS = ['approve', 'reject'] as const;
export type TaskDecision = (typeof TASK_DECISIONS)[number];

/** `coordinator.tasks.decide`: approve or reject a task behind its approval gate or in needs_review. */
export class TaskDecisionRequest extends TenantScopedDto {
  @IsUUID()
  taskId!: string;

  @IsIn(TASK_DECISIONS)
  decision!: TaskDecision;

  /** Who decides (`api-key:<id>`), recorded with the decision. */
  @IsString()
  @Length(1, 200)
  actor!: string;

  /** The key's name, when it has one (approvers may be named by it). */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  actorName?: string;

  @IsOptional()
  @IsString()
  @Length(1, 2000)
  comment?: string;
}

/** `coordinator.tasks.tree` */
export class TaskTreeRequest extends TenantScopedDto {
  @IsUUID()
  taskId!: string;
}
