/**
 * Round trip of every DTO class exported by @swarm-mesh/contracts through the wire:
 * fixture → createEnvelope → encodeEnvelope → decodeEnvelope → validatePlain → same value.
 *
 * Self-checking: the test lists every exported class that carries class-validator metadata and
 * fails when one has no fixture here, when a fixture leaves a validated property unexercised, or
 * when a definition in the catalogue uses a class without a fixture. Add a fixture when you add a
 * DTO. Besides the hand-written invalid variants, every class is checked automatically for:
 * an unknown field, each required property missing, and each property with a value of the wrong
 * JSON type — all must fail with VALIDATION_FAILED naming the property.
 */
import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import * as contracts from '@swarm-mesh/contracts';
import { createEnvelope, decodeEnvelope, encodeEnvelope, type FieldViolation, SwarmError, validatePlain } from '@swarm-mesh/contracts';
import { PERFORMANCE_FIXTURES } from './fixtures/performance.fixtures';
import { WORKFLOW_FIXTURES } from './fixtures/workflow.fixtures';

type Plain = Record<string, unknown>;
type AnyClass = new () => object;

interface Invalid {
  /** What is wrong. */
  why: string;
  body: unknown;
  /** A violation with this path (or a path under it) must be reported. */
  path: string;
}

interface Fixture {
  cls: AnyClass;
  /** Valid bodies; together they must set every validated property at least once. */
  valid: Plain[];
  invalid: Invalid[];
}

// ── building blocks ───────────────────────────────────────────────────────

const T0 = '2026-01-02T03:04:05.678Z';
const T1 = '2026-01-02T03:04:06.000Z';
const UUID_A = '3f1c2a9e-5b7d-4c8e-9f0a-1b2c3d4e5f60';
const UUID_B = '9b2d8c1e-0a4f-4e3b-8d2c-6f5e4d3c2b1a';
const UUID_C = 'c0ffee00-1234-4abc-9def-0123456789ab';
const TENANT = 'default';

const with_ = (base: Plain, patch: Plain): Plain => ({ ...base, ...patch });

const componentHealth: Plain = { status: 'ok', latencyMs: 1.25, error: 'none' };
const healthChecks: Plain = { postgres: componentHealth, nats: { status: 'degraded', error: 'draining' } };
const healthReply: Plain = {
  service: 'coordinator',
  instanceId: 'vm-1-abc',
  status: 'ok',
  version: '0.1.0',
  startedAt: T0,
  uptimeMs: 1234,
  checks: healthChecks,
};
const envelope: Plain = {
  id: UUID_A,
  from: 'client:test',
  to: 'coordinator',
  type: 'coordinator.health',
  priority: 'HIGH',
  timestamp: T0,
  ttl: 5000,
  body: { deep: true },
  deliveryStatus: 'sent',
};

const retry: Plain = { maxAttempts: 4, backoffMs: [5000, 15000, 30000], jitter: 0.1 };
const timeouts: Plain = { scheduleToStartMs: 60_000, startToCloseMs: 30_000, heartbeatMs: 5_000, progressMs: 120_000 };
const routing: Plain = { strategy: 'affinity', affinityKey: 'customer-42', agentId: 'Fetcher-1' };
const resources: Plain = { pool: 'openai-gpt4o', tokensIn: 500, tokensOut: 200, costUsd: 0.02 };
const submitTask: Plain = {
  capability: 'data.fetch',
  input: { url: 'https://example.com', simulate: { latencyMs: 50, failTimes: 2 } },
  priority: 'HIGH',
  idempotencyKey: 'order-42',
  retry,
  timeouts,
  routing,
  resources,
  deadline: T1,
  validation: { requiredFields: ['body'], nonEmpty: ['body'], minSize: 10, forbiddenPatterns: ['\\bTODO\\b'], onFailure: 'fail' },
  approval: { required: true, approvers: ['ops-lead'] },
  labels: { team: 'growth', env: 'test' },
};
const taskError: Plain = {
  message: 'provider timed out',
  code: 'PROVIDER_TIMEOUT',
  retryable: true,
  details: { status: 504 },
  attempt: 1,
  at: T0,
};
const attemptDone: Plain = {
  attempt: 1,
  epoch: 1,
  agentId: 'Fetcher-1',
  dispatchedAt: T0,
  startedAt: T0,
  finishedAt: T1,
  outcome: 'failed',
  error: taskError,
};
const attemptOpen: Plain = {
  attempt: 2,
  epoch: 2,
  agentId: null,
  dispatchedAt: T1,
  startedAt: null,
  finishedAt: null,
  outcome: null,
  error: null,
};
const progress: Plain = { percent: 0.5, message: 'half way', at: T1 };
const task: Plain = {
  id: UUID_A,
  tenantId: TENANT,
  capability: 'data.fetch',
  state: 'running',
  priority: 'MEDIUM',
  input: { url: 'https://example.com' },
  result: { text: 'partial' },
  error: taskError,
  attempts: [attemptDone, attemptOpen],
  attempt: 2,
  maxAttempts: 4,
  idempotencyKey: 'order-42',
  agentId: 'Fetcher-1',
  traceId: '0af7651916cd43dd8448eb211c80319c',
  progress,
  labels: { team: 'growth' },
  deadline: T1,
  retry,
  timeouts,
  routing,
  resources,
  validation: { jsonSchema: { type: 'object' }, maxValidationRetries: 2, onFailure: 'needs_review' },
  approval: {
    kind: 'approval',
    status: 'approved',
    approvers: ['ops-lead'],
    requestedAt: T0,
    decidedBy: 'api-key:bootstrap',
    decidedByName: 'ops-lead',
    decidedAt: T1,
    comment: 'ship it',
  },
  workflowId: UUID_C,
  nodeKey: 'fetch',
  parentTaskId: UUID_B,
  rootTaskId: UUID_B,
  tier: 'master',
  depth: 1,
  createdAt: T0,
  updatedAt: T1,
  queuedAt: T0,
  startedAt: T1,
  finishedAt: null,
  nextAttemptAt: null,
};
const taskMinimalNulls: Plain = {
  id: UUID_B,
  tenantId: TENANT,
  capability: 'content.write',
  state: 'queued',
  priority: 'LOW',
  input: {},
  result: null,
  error: null,
  attempts: [],
  attempt: 0,
  maxAttempts: 1,
  idempotencyKey: null,
  agentId: null,
  traceId: null,
  progress: null,
  labels: {},
  deadline: null,
  createdAt: T0,
  updatedAt: T0,
  queuedAt: null,
  startedAt: null,
  finishedAt: null,
  nextAttemptAt: null,
};

const agentLoad: Plain = { running: 1, freeSlots: 3 };
const agentStats: Plain = { cpuPercent: 12.5, memoryRssBytes: 104_857_600, succeeded: 10, failed: 2, consecutiveFailures: 0 };
const agentBreaker: Plain = { state: 'half_open', openedAt: T0, retryAt: T1 };
const agent: Plain = {
  id: 'Fetcher-1',
  tenantId: TENANT,
  name: 'Fetcher one',
  domain: 'data',
  tier: 'specialist',
  capabilities: ['data.fetch', 'data.cache:write'],
  concurrency: 4,
  state: 'healthy',
  instanceId: UUID_C,
  version: '1.2.3',
  load: agentLoad,
  stats: agentStats,
  breaker: agentBreaker,
  lastHeartbeatAt: T1,
  registeredAt: T0,
  metadata: { region: 'eu-west-1' },
};
const agentErrorEntry: Plain = { taskId: UUID_A, capability: 'data.fetch', attempt: 1, outcome: 'failed', error: taskError, at: T1 };
const leaseRef: Plain = { taskId: UUID_A, epoch: 3 };
const runningAttempt: Plain = { taskId: UUID_A, epoch: 1, progressSeq: 7 };
const report: Plain = { kind: 'progress', taskId: UUID_A, epoch: 1, at: T1, percent: 0.3, message: 'fetching' };
const usage: Plain = { tokensIn: 500, tokensOut: 200, costUsd: 0.01, provider: 'openai', model: 'gpt-4o' };
const attemptResult: Plain = {
  taskId: UUID_A,
  attempt: 1,
  epoch: 1,
  outcome: 'succeeded',
  result: { text: 'done', items: [1, 2] },
  error: taskError,
  startedAt: T0,
  finishedAt: T1,
  usage,
};
const dispatched: Plain = {
  taskId: UUID_A,
  tenantId: TENANT,
  capability: 'data.fetch',
  attempt: 2,
  epoch: 2,
  priority: 'LOW',
  input: { url: 'https://example.com' },
  maxAttempts: 4,
  checkpoint: { page: 3 },
  previousErrors: [taskError],
  deadline: T1,
  startToCloseMs: 30_000,
  heartbeatMs: 5_000,
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  pool: 'openai-gpt4o',
};
const deadLetter: Plain = {
  id: UUID_B,
  taskId: UUID_A,
  tenantId: TENANT,
  capability: 'data.fetch',
  reason: 'max attempts reached',
  errors: [taskError],
  createdAt: T0,
  replayedAt: T1,
  replayedBy: 'admin',
};
const priorityCounts: Plain = { LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 0 };
const queueDepth: Plain = {
  capability: 'data.fetch',
  queued: priorityCounts,
  totalQueued: 6,
  dispatched: 1,
  running: 2,
  retryScheduled: 0,
  oldestQueuedAgeMs: 1500,
  availableAgents: 2,
  freeSlots: 3,
};
const meshEvent: Plain = { type: 'task.succeeded', ts: T1, tenantId: TENANT, data: { taskId: UUID_A } };

// gateway admin building blocks
const gwApiKey: Plain = {
  id: UUID_A,
  tenantId: TENANT,
  name: 'ci key',
  role: 'operator',
  prefix: 'abcd1234',
  rateLimit: 500,
  createdBy: 'api-key:bootstrap',
  createdAt: T0,
  lastUsedAt: T1,
  revokedAt: T1,
  rotatedFrom: UUID_B,
};
const gwFlag: Plain = {
  name: 'optimizer.auto_apply',
  enabled: true,
  default: false,
  set: true,
  updatedAt: T0,
  updatedBy: 'api-key:bootstrap',
  description: 'Apply optimisations automatically.',
};
const gwAudit: Plain = {
  id: UUID_A,
  at: T0,
  tenantId: TENANT,
  actor: 'api-key:bootstrap (bootstrap admin key)',
  action: 'POST /api/v1/tasks/:id/cancel',
  targetType: 'tasks',
  targetId: UUID_B,
  outcome: 'succeeded',
  httpStatus: 200,
  traceId: '0af7651916cd43dd8448eb211c80319c',
  details: { code: 'X' },
  completedAt: T1,
};
const gwSlack: Plain = { type: 'slack', url: 'https://hooks.example.com/services/T/B/X' };
const gwRule: Plain = {
  id: UUID_A,
  tenantId: TENANT,
  name: 'dead letters',
  kind: 'dead_letter_growth',
  threshold: 2,
  windowMs: 60_000,
  cooldownMs: 1000,
  severity: 'warning',
  channels: [gwSlack],
  enabled: true,
  createdAt: T0,
  updatedAt: T1,
  lastFiredAt: T1,
};
const gwDelivery: Plain = {
  channel: 'email',
  target: 'ops@example.com',
  state: 'delivered',
  attempts: 2,
  lastError: 'connect ECONNREFUSED',
  deliveredAt: T1,
};
const gwAlert: Plain = {
  id: UUID_C,
  ruleId: UUID_A,
  tenantId: TENANT,
  kind: 'dead_letter_growth',
  severity: 'warning',
  title: '2 tasks dead-lettered',
  message: '2 tasks were dead-lettered in the last 60 s',
  data: { count: 2 },
  firedAt: T0,
  deliveries: [gwDelivery],
};

// ── fixtures, one per class ───────────────────────────────────────────────

// ── resources and conflicts (issue #5) ─────────────────────────────────────
const rLimits: Plain = {
  requestsPerMinute: 600,
  inputTokensPerMinute: 90_000,
  outputTokensPerMinute: 30_000,
  tokensPerMinute: 100_000,
  concurrency: 16,
  costUsdPerPeriod: 50,
  costPeriodMs: 86_400_000,
  windowMs: 60_000,
};
const rPricing: Plain = { inputUsdPer1k: 0.0025, outputUsdPer1k: 0.01, requestUsd: 0 };
const rEstimate: Plain = { tokensIn: 500, tokensOut: 200, costUsd: 0.003 };
const rPoolSpec: Plain = {
  name: 'openai-gpt4o',
  provider: 'openai',
  model: 'gpt-4o',
  keyRef: 'vault:openai/key1',
  capabilities: ['content.generate'],
  tenants: ['*'],
  limits: rLimits,
  pricing: rPricing,
  defaultEstimate: rEstimate,
};
const rPoolPatch: Plain = {
  provider: 'openai',
  model: 'gpt-4o-mini',
  keyRef: 'vault:openai/key2',
  capabilities: ['content.generate', 'intel.analyze'],
  tenants: ['acme'],
  limits: { concurrency: 4 },
  pricing: rPricing,
  defaultEstimate: rEstimate,
};
const rPool: Plain = {
  id: UUID_A,
  tenantId: TENANT,
  name: 'openai-gpt4o',
  provider: 'openai',
  model: 'gpt-4o',
  keyRef: 'vault:openai/key1',
  capabilities: ['content.generate'],
  tenants: ['*'],
  limits: rLimits,
  pricing: rPricing,
  defaultEstimate: rEstimate,
  paused: true,
  pausedUntil: T1,
  pauseReason: 'provider 429',
  createdAt: T0,
  updatedAt: T1,
};
const rReservationSpec: Plain = {
  poolId: UUID_A,
  workflowId: 'wf-nightly',
  startsAt: T0,
  endsAt: T1,
  slots: 4,
  requestsPerMinute: 100,
  tokensPerMinute: 10_000,
  note: 'nightly batch',
};
const rReservation: Plain = {
  id: UUID_B,
  tenantId: TENANT,
  poolId: UUID_A,
  workflowId: 'wf-nightly',
  startsAt: T0,
  endsAt: T1,
  slots: 4,
  requestsPerMinute: 100,
  tokensPerMinute: 10_000,
  note: 'nightly batch',
  active: false,
  createdAt: T0,
};
const rBudgetSpec: Plain = { workflowId: 'wf-1', limitUsd: 25, periodMs: 86_400_000, nearLimitRatio: 0.8, action: 'downgrade' };
const rBudget: Plain = {
  id: UUID_C,
  tenantId: TENANT,
  workflowId: 'wf-1',
  limitUsd: 25,
  periodMs: 86_400_000,
  nearLimitRatio: 0.8,
  action: 'defer_low',
  spentUsd: 3.5,
  reservedUsd: 0.25,
  state: 'ok',
  periodStartedAt: T0,
  createdAt: T0,
  updatedAt: T1,
};
const rAllocateSpec: Plain = {
  poolId: UUID_A,
  requests: 1,
  tokensIn: 1000,
  tokensOut: 500,
  costUsd: 0.01,
  slots: 1,
  ttlMs: 30_000,
  holder: 'script:nightly',
};
const rAllocation: Plain = {
  id: UUID_B,
  poolId: UUID_A,
  tenantId: TENANT,
  holder: 'script:nightly',
  requests: 1,
  tokensIn: 1000,
  tokensOut: 500,
  costUsd: 0.01,
  slots: 1,
  expiresAt: T1,
  releasedAt: T1,
  createdAt: T0,
};
const rUsageFigures: Plain = { requests: 10, inputTokens: 5000, outputTokens: 2000, costUsd: 0.05, slots: 3 };
const rTenantAllocation: Plain = { tenantId: TENANT, slots: 6, slotsHeld: 5, leases: 5, queued: 12, weight: 3 };
const rPoolAllocation: Plain = {
  poolId: UUID_A,
  name: 'openai-gpt4o',
  policy: 'fair_share',
  paused: false,
  limits: rLimits,
  usage: rUsageFigures,
  tenants: [rTenantAllocation],
  reservations: [rReservation],
  allocations: [rAllocation],
};
const rUtilisation: Plain = { requests: 0.5, inputTokens: 0.9, outputTokens: 0.2, tokens: 0.7, concurrency: 1, cost: 0.1 };
const rForecast: Plain = {
  queued: 12,
  queuedTokens: 6000,
  running: 4,
  admittedPerMinute: 120.5,
  forecastTokens: 80_000,
  forecastSaturation: 1.2,
  scaling: 'up',
};
const rPoolMonitoring: Plain = {
  poolId: UUID_A,
  name: 'openai-gpt4o',
  paused: false,
  usage: rUsageFigures,
  utilisation: rUtilisation,
  demand: rForecast,
  rateLimited: 2,
};
const rDemandEntry: Plain = {
  tenantId: TENANT,
  queued: [1, 2, 3, 4],
  queuedTokensIn: 5000,
  queuedTokensOut: 2000,
  queuedCostUsd: 0.04,
  oldestWaitMs: 250,
  earliestDeadlineInMs: 5000,
  running: 3,
};
const rSpent: Plain = { grantId: UUID_C, requests: 3, tokensIn: 1500, tokensOut: 600, costUsd: 0.01, final: true };
const rLeaseAdmit: Plain = {
  taskId: UUID_A,
  attempt: 1,
  poolId: UUID_B,
  tenantId: TENANT,
  workflowId: 'wf-1',
  capability: 'content.generate',
  priority: 'HIGH',
  grantId: UUID_C,
  tokensIn: 500,
  tokensOut: 200,
  costUsd: 0.003,
};
const rLeaseEnd: Plain = {
  taskId: UUID_A,
  attempt: 1,
  poolId: UUID_B,
  outcome: 'succeeded',
  tokensIn: 480,
  tokensOut: 210,
  costUsd: 0.0029,
};
const rDemandReport: Plain = {
  holder: 'coordinator:vm-1',
  seq: 42,
  pools: [{ poolId: UUID_B, entries: [rDemandEntry] }],
  spent: [rSpent],
  admitted: [rLeaseAdmit],
  ended: [rLeaseEnd],
  rateLimited: [{ poolId: UUID_B, retryAfterMs: 1000 }],
};
const rGrant: Plain = {
  grantId: UUID_C,
  poolId: UUID_B,
  tenantId: TENANT,
  requests: 10,
  tokensIn: 5000,
  tokensOut: 2000,
  tokens: 7000,
  costUsd: 0.5,
  slots: 4,
  minPriority: 'HIGH',
  ttlMs: 1000,
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
};
const rCapEstimate: Plain = { capability: 'content.generate', tokensIn: 480, tokensOut: 190, costUsd: 0.003, samples: 12 };
const rBinding: Plain = {
  poolId: UUID_B,
  ownerTenantId: TENANT,
  name: 'openai-gpt4o',
  capabilities: ['content.generate'],
  tenants: ['*'],
  paused: false,
  costPer1kTokens: 0.006,
  pricing: rPricing,
  defaultEstimate: rEstimate,
  estimates: [rCapEstimate],
};
const rBudgetGrant: Plain = {
  budgetId: UUID_A,
  tenantId: TENANT,
  workflowId: 'wf-1',
  action: 'reject',
  state: 'near_limit',
  creditUsd: 1.5,
  limitUsd: 25,
  spentUsd: 21,
};
const rSnapDemand: Plain = { tenantId: TENANT, queued: [0, 0, 0, 1], oldestWaitMs: 120, running: 2, borrowed: 1 };
const rSnapLease: Plain = { taskId: UUID_A, tenantId: TENANT, priority: 'LOW', ageMs: 300 };
const rSnapReservation: Plain = { reservationId: UUID_C, tenantId: TENANT, slots: 2, startsAt: T0, endsAt: T1 };
const rPoolSnapshot: Plain = {
  poolId: UUID_B,
  ownerTenantId: TENANT,
  name: 'openai-gpt4o',
  concurrency: 4,
  slotsHeld: 4,
  utilisation: 1,
  paused: false,
  demand: [rSnapDemand],
  leases: [rSnapLease],
  reservations: [rSnapReservation],
};
const rConflictAction: Plain = { kind: 'preempt', taskId: UUID_A, detail: 'LOW holder preempted for a CRITICAL waiter' };
const rResolution: Plain = {
  id: UUID_B,
  policy: 'priority_aging',
  actions: [rConflictAction],
  resolvedBy: 'conflict-resolver',
  createdAt: T1,
};
const rConflict: Plain = {
  id: UUID_C,
  tenantId: TENANT,
  kind: 'priority_inversion',
  status: 'resolved',
  poolId: UUID_B,
  subject: { poolId: UUID_B, waiting: 'CRITICAL' },
  evidence: { slotsHeld: 4, concurrency: 4 },
  detectedAt: T0,
  resolvedAt: T1,
  resolutions: [rResolution],
};
const rPolicySpec: Plain = {
  kind: 'fair_share',
  weights: { acme: 3, globex: 1 },
  agingStepMs: 5000,
  starvationMs: 60_000,
  preemption: true,
};
const rPolicy: Plain = {
  tenantId: TENANT,
  poolId: UUID_B,
  kind: 'fair_share',
  weights: { acme: 3 },
  agingStepMs: 10_000,
  starvationMs: 60_000,
  preemption: false,
  updatedAt: T1,
};

const C = contracts;
const FIXTURES: Fixture[] = [
  // envelope and health
  {
    cls: C.AgentMessage,
    valid: [envelope, with_(envelope, { deliveryStatus: undefined, ttl: 0, priority: 'LOW' })],
    invalid: [
      { why: 'id is not a UUID', body: with_(envelope, { id: 'abc' }), path: 'id' },
      { why: 'negative ttl', body: with_(envelope, { ttl: -1 }), path: 'ttl' },
      { why: 'unknown priority', body: with_(envelope, { priority: 'URGENT' }), path: 'priority' },
      { why: 'timestamp not strict ISO', body: with_(envelope, { timestamp: '2026-02-30T00:00:00Z' }), path: 'timestamp' },
      { why: 'empty from', body: with_(envelope, { from: '' }), path: 'from' },
      { why: 'unknown delivery status', body: with_(envelope, { deliveryStatus: 'lost' }), path: 'deliveryStatus' },
    ],
  },
  {
    cls: C.HealthRequest,
    valid: [{ deep: false, probeTimeoutMs: 500 }, {}],
    invalid: [
      { why: 'probe timeout 0', body: { probeTimeoutMs: 0 }, path: 'probeTimeoutMs' },
      { why: 'probe timeout too long', body: { probeTimeoutMs: 10_001 }, path: 'probeTimeoutMs' },
      { why: 'fractional probe timeout', body: { probeTimeoutMs: 1.5 }, path: 'probeTimeoutMs' },
      { why: 'deep as a string', body: { deep: 'yes' }, path: 'deep' },
    ],
  },
  {
    cls: C.ComponentHealth,
    valid: [componentHealth, { status: 'down' }],
    invalid: [
      { why: 'unknown status', body: { status: 'fine' }, path: 'status' },
      { why: 'negative latency', body: { status: 'ok', latencyMs: -1 }, path: 'latencyMs' },
      { why: 'error too long', body: { status: 'down', error: 'x'.repeat(2001) }, path: 'error' },
    ],
  },
  {
    cls: C.ServiceHealthChecks,
    valid: [healthChecks],
    invalid: [{ why: 'bad nested status', body: with_(healthChecks, { postgres: { status: 'meh' } }), path: 'postgres.status' }],
  },
  {
    cls: C.ServiceHealthReply,
    valid: [healthReply],
    invalid: [
      { why: 'unknown service', body: with_(healthReply, { service: 'billing' }), path: 'service' },
      { why: 'fractional uptime', body: with_(healthReply, { uptimeMs: 1.5 }), path: 'uptimeMs' },
      { why: 'startedAt not ISO', body: with_(healthReply, { startedAt: 'yesterday' }), path: 'startedAt' },
      { why: 'nested check invalid', body: with_(healthReply, { checks: with_(healthChecks, { nats: {} }) }), path: 'checks.nats.status' },
    ],
  },
  {
    cls: C.ChannelPayload,
    valid: [{ topic: 'market-move', correlationId: 'wf-1', data: { a: 1, nested: { b: [1, 2] } } }, { data: {} }],
    invalid: [
      { why: 'empty topic', body: { topic: '', data: {} }, path: 'topic' },
      { why: 'data is an array', body: { data: [] }, path: 'data' },
    ],
  },

  // tasks
  {
    cls: C.RetryPolicyDto,
    valid: [retry, {}],
    invalid: [
      { why: 'zero attempts', body: { maxAttempts: 0 }, path: 'maxAttempts' },
      { why: 'empty backoff', body: { backoffMs: [] }, path: 'backoffMs' },
      { why: 'negative backoff', body: { backoffMs: [100, -1] }, path: 'backoffMs' },
      { why: 'jitter above 1', body: { jitter: 1.5 }, path: 'jitter' },
    ],
  },
  {
    cls: C.TaskTimeoutsDto,
    valid: [timeouts, {}],
    invalid: [
      { why: 'zero heartbeat', body: { heartbeatMs: 0 }, path: 'heartbeatMs' },
      { why: 'fractional start-to-close', body: { startToCloseMs: 1.5 }, path: 'startToCloseMs' },
      { why: 'schedule-to-start above 30 days', body: { scheduleToStartMs: 31 * 24 * 3600 * 1000 }, path: 'scheduleToStartMs' },
    ],
  },
  {
    cls: C.TaskRoutingDto,
    valid: [routing, { strategy: 'least_loaded' }],
    invalid: [
      { why: 'unknown strategy', body: { strategy: 'random' }, path: 'strategy' },
      { why: 'agent id with a dot', body: { agentId: 'a.b' }, path: 'agentId' },
    ],
  },
  {
    cls: C.TaskResourcesDto,
    valid: [resources, {}],
    invalid: [
      { why: 'negative tokens', body: { tokensIn: -1 }, path: 'tokensIn' },
      { why: 'cost as text', body: { costUsd: 'free' }, path: 'costUsd' },
    ],
  },
  {
    cls: C.SubmitTaskDto,
    valid: [submitTask, { capability: 'x' }],
    invalid: [
      { why: 'capability with spaces', body: { capability: 'Data Fetch' }, path: 'capability' },
      { why: 'input is an array', body: { capability: 'a', input: [] }, path: 'input' },
      { why: 'label value not a string', body: { capability: 'a', labels: { a: 1 } }, path: 'labels' },
      { why: 'validation over 64 KiB', body: { capability: 'a', validation: { s: 'x'.repeat(65 * 1024) } }, path: 'validation' },
      { why: 'nested retry invalid', body: { capability: 'a', retry: { maxAttempts: 0 } }, path: 'retry.maxAttempts' },
      { why: 'deadline not strict ISO', body: { capability: 'a', deadline: '2026-13-01T00:00:00Z' }, path: 'deadline' },
      { why: 'lower-case priority', body: { capability: 'a', priority: 'high' }, path: 'priority' },
    ],
  },
  {
    cls: C.TaskErrorDto,
    valid: [taskError, { message: '', retryable: false }],
    invalid: [
      { why: 'retryable as text', body: { message: 'x', retryable: 'yes' }, path: 'retryable' },
      { why: 'attempt 0', body: { message: 'x', retryable: true, attempt: 0 }, path: 'attempt' },
      { why: 'message too long', body: { message: 'x'.repeat(8001), retryable: true }, path: 'message' },
      { why: 'details over 16 KiB', body: { message: 'x', retryable: true, details: { s: 'x'.repeat(17 * 1024) } }, path: 'details' },
    ],
  },
  {
    cls: C.TaskAttemptDto,
    valid: [attemptDone, attemptOpen],
    invalid: [
      { why: 'unknown outcome', body: with_(attemptDone, { outcome: 'exploded' }), path: 'outcome' },
      { why: 'epoch 0', body: with_(attemptDone, { epoch: 0 }), path: 'epoch' },
      { why: 'nested error invalid', body: with_(attemptDone, { error: { message: 'x' } }), path: 'error.retryable' },
    ],
  },
  {
    cls: C.TaskProgressDto,
    valid: [progress, { at: T0 }],
    invalid: [{ why: 'percent above 1', body: { percent: 1.5, at: T0 }, path: 'percent' }],
  },
  {
    cls: C.TaskDto,
    valid: [task, taskMinimalNulls],
    invalid: [
      { why: 'unknown state', body: with_(task, { state: 'done' }), path: 'state' },
      { why: 'upper-case tenant', body: with_(task, { tenantId: 'Default' }), path: 'tenantId' },
      { why: 'nested attempt invalid', body: with_(task, { attempts: [with_(attemptDone, { epoch: 0 })] }), path: 'attempts.0.epoch' },
      { why: 'maxAttempts 0', body: with_(task, { maxAttempts: 0 }), path: 'maxAttempts' },
    ],
  },
  {
    cls: C.TaskPageDto,
    valid: [
      { items: [task], nextCursor: 'abc' },
      { items: [], nextCursor: null },
    ],
    invalid: [{ why: 'item invalid', body: { items: [{}], nextCursor: null }, path: 'items.0' }],
  },
  {
    cls: C.TenantScopedDto,
    valid: [{ tenantId: 'acme_corp-1' }],
    invalid: [{ why: 'tenant with spaces', body: { tenantId: 'Bad Tenant' }, path: 'tenantId' }],
  },
  {
    cls: C.SubmitTasksRequest,
    valid: [{ tenantId: TENANT, tasks: [submitTask, { capability: 'content.write' }] }],
    invalid: [
      { why: 'no tasks', body: { tenantId: TENANT, tasks: [] }, path: 'tasks' },
      { why: 'second task invalid', body: { tenantId: TENANT, tasks: [submitTask, { capability: 'Bad!' }] }, path: 'tasks.1.capability' },
      { why: 'tenant missing', body: { tasks: [submitTask] }, path: 'tenantId' },
    ],
  },
  {
    cls: C.FlagValue,
    valid: [{ enabled: true, updatedAt: T0, updatedBy: 'cli' }],
    invalid: [{ why: 'enabled not a boolean', body: { enabled: 'yes', updatedAt: T0, updatedBy: 'cli' }, path: 'enabled' }],
  },
  {
    cls: C.SubmittedTaskDto,
    valid: [
      { id: UUID_A, state: 'queued', capability: 'data.fetch', priority: 'HIGH', idempotencyKey: 'order-1', traceId: 'abc', createdAt: T0 },
      { id: UUID_B, state: 'dispatched', capability: 'data.fetch', priority: 'LOW', idempotencyKey: null, traceId: null, createdAt: T0 },
    ],
    invalid: [
      {
        why: 'unknown state',
        body: { id: UUID_A, state: 'done', capability: 'data.fetch', priority: 'LOW', createdAt: T0 },
        path: 'state',
      },
    ],
  },
  {
    cls: C.SubmitTasksReply,
    valid: [
      {
        tasks: [
          { id: UUID_A, state: 'queued', capability: 'data.fetch', priority: 'HIGH', idempotencyKey: null, traceId: null, createdAt: T0 },
        ],
      },
    ],
    invalid: [
      {
        why: 'task invalid',
        body: { tasks: [{ id: 'x', state: 'queued', capability: 'a', priority: 'LOW', createdAt: T0 }] },
        path: 'tasks.0.id',
      },
    ],
  },
  {
    cls: C.CreateTaskRequest,
    valid: [{ tenantId: TENANT, task: submitTask }],
    invalid: [
      { why: 'task missing', body: { tenantId: TENANT }, path: 'task' },
      { why: 'task invalid', body: { tenantId: TENANT, task: { capability: 'Bad!' } }, path: 'task.capability' },
    ],
  },
  {
    cls: C.CreateTaskItem,
    valid: [
      { tenantId: TENANT, task: submitTask, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      { tenantId: TENANT, task: submitTask },
    ],
    invalid: [
      { why: 'task missing', body: { tenantId: TENANT }, path: 'task' },
      { why: 'empty traceparent', body: { tenantId: TENANT, task: submitTask, traceparent: '' }, path: 'traceparent' },
    ],
  },
  {
    cls: C.CreateTasksRequest,
    valid: [
      {
        items: [
          { tenantId: TENANT, task: submitTask },
          { tenantId: 'acme', task: { capability: 'content.write' } },
        ],
      },
    ],
    invalid: [
      { why: 'no items', body: { items: [] }, path: 'items' },
      {
        why: 'second item invalid',
        body: {
          items: [
            { tenantId: TENANT, task: submitTask },
            { tenantId: TENANT, task: { capability: 'Bad!' } },
          ],
        },
        path: 'items.1.task.capability',
      },
    ],
  },
  {
    cls: C.ItemErrorDto,
    valid: [
      { code: 'UNKNOWN_CAPABILITY', message: 'no agent offers x', details: { capabilities: ['x'] }, retryable: false },
      { code: 'TIMEOUT', message: '', retryable: true },
    ],
    invalid: [
      { why: 'lower-case code', body: { code: 'timeout', message: 'x', retryable: true }, path: 'code' },
      { why: 'retryable missing', body: { code: 'TIMEOUT', message: 'x' }, path: 'retryable' },
    ],
  },
  {
    cls: C.CreateTaskOutcome,
    valid: [{ task }, { error: { code: 'DUPLICATE_IDEMPOTENCY_KEY', message: 'taken', retryable: false } }],
    invalid: [{ why: 'task invalid', body: { task: with_(task, { state: 'done' }) }, path: 'task.state' }],
  },
  {
    cls: C.CreateTasksReply,
    valid: [{ items: [{ task }, { error: { code: 'TIMEOUT', message: 'late', retryable: true } }] }, { items: [] }],
    invalid: [{ why: 'not an array', body: { items: {} }, path: 'items' }],
  },
  {
    cls: C.GetTaskRequest,
    valid: [{ tenantId: TENANT, taskId: UUID_A }],
    invalid: [{ why: 'task id not a UUID', body: { tenantId: TENANT, taskId: 'abc' }, path: 'taskId' }],
  },
  {
    cls: C.ListTasksRequest,
    valid: [
      { tenantId: TENANT, state: 'queued', capability: 'data.fetch', priority: 'HIGH', agentId: 'Fetcher-1', limit: 50, cursor: 'abc' },
      { tenantId: TENANT },
    ],
    invalid: [
      { why: 'limit above 500', body: { tenantId: TENANT, limit: 501 }, path: 'limit' },
      { why: 'unknown state', body: { tenantId: TENANT, state: 'nope' }, path: 'state' },
    ],
  },
  {
    cls: C.CancelTaskRequest,
    valid: [{ tenantId: TENANT, taskId: UUID_A, reason: 'no longer needed' }],
    invalid: [{ why: 'empty reason', body: { tenantId: TENANT, taskId: UUID_A, reason: '' }, path: 'reason' }],
  },
  {
    cls: C.SetTaskPriorityRequest,
    valid: [{ tenantId: TENANT, taskId: UUID_A, priority: 'CRITICAL' }],
    invalid: [{ why: 'lower-case priority', body: { tenantId: TENANT, taskId: UUID_A, priority: 'low' }, path: 'priority' }],
  },

  // agents
  {
    cls: C.AgentLoadDto,
    valid: [agentLoad],
    invalid: [{ why: 'negative running', body: { running: -1, freeSlots: 0 }, path: 'running' }],
  },
  {
    cls: C.AgentStatsDto,
    valid: [agentStats, { succeeded: 0, failed: 0, consecutiveFailures: 0 }],
    invalid: [{ why: 'fractional memory', body: with_(agentStats, { memoryRssBytes: 1.5 }), path: 'memoryRssBytes' }],
  },
  {
    cls: C.AgentBreakerDto,
    valid: [agentBreaker, { state: 'closed', openedAt: null, retryAt: null }],
    invalid: [{ why: 'unknown breaker state', body: { state: 'broken' }, path: 'state' }],
  },
  {
    cls: C.AgentDto,
    valid: [agent, with_(agent, { version: null, lastHeartbeatAt: null })],
    invalid: [
      { why: 'bad capability', body: with_(agent, { capabilities: ['Bad Cap'] }), path: 'capabilities' },
      { why: 'unknown domain', body: with_(agent, { domain: 'finance' }), path: 'domain' },
      { why: 'zero concurrency', body: with_(agent, { concurrency: 0 }), path: 'concurrency' },
      { why: 'nested stats invalid', body: with_(agent, { stats: with_(agentStats, { failed: -1 }) }), path: 'stats.failed' },
    ],
  },
  {
    cls: C.AgentPageDto,
    valid: [
      { items: [agent], nextCursor: 'c1' },
      { items: [], nextCursor: null },
    ],
    invalid: [{ why: 'item invalid', body: { items: [with_(agent, { tier: 'boss' })], nextCursor: null }, path: 'items.0.tier' }],
  },
  {
    cls: C.AgentErrorEntryDto,
    valid: [agentErrorEntry],
    invalid: [{ why: 'nested error invalid', body: with_(agentErrorEntry, { error: { message: 'x' } }), path: 'error.retryable' }],
  },
  {
    cls: C.AgentErrorsDto,
    valid: [{ items: [agentErrorEntry] }, { items: [], nextCursor: null }, { items: [agentErrorEntry], nextCursor: 'c' }],
    invalid: [{ why: 'items not an array', body: { items: {} }, path: 'items' }],
  },
  {
    cls: C.ListAgentsRequest,
    valid: [{ tenantId: TENANT, state: 'degraded', capability: 'data.fetch', domain: 'intel', limit: 10, cursor: 'c' }],
    invalid: [{ why: 'unknown domain', body: { tenantId: TENANT, domain: 'x' }, path: 'domain' }],
  },
  {
    cls: C.GetAgentRequest,
    valid: [{ tenantId: TENANT, agentId: 'Fetcher-1', limit: 20 }],
    invalid: [{ why: 'agent id with a space', body: { tenantId: TENANT, agentId: 'a b' }, path: 'agentId' }],
  },
  {
    cls: C.AgentControlRequest,
    valid: [{ tenantId: TENANT, agentId: 'Fetcher-1', action: 'drain' }],
    invalid: [{ why: 'unknown action', body: { tenantId: TENANT, agentId: 'Fetcher-1', action: 'kill' }, path: 'action' }],
  },
  {
    cls: C.AgentRegistration,
    valid: [
      {
        agentId: 'Fetcher-1',
        instanceId: UUID_C,
        tenantId: TENANT,
        name: 'Fetcher one',
        domain: 'data',
        tier: 'master',
        capabilities: ['data.fetch', 'data.cache'],
        concurrency: 8,
        version: '1.2.3',
        metadata: { host: 'vm-1' },
      },
    ],
    invalid: [
      {
        why: 'no capabilities',
        body: {
          agentId: 'a',
          instanceId: UUID_C,
          tenantId: TENANT,
          name: 'n',
          domain: 'data',
          tier: 'master',
          capabilities: [],
          concurrency: 1,
        },
        path: 'capabilities',
      },
      {
        why: 'concurrency above 10 000',
        body: {
          agentId: 'a',
          instanceId: UUID_C,
          tenantId: TENANT,
          name: 'n',
          domain: 'data',
          tier: 'master',
          capabilities: ['x'],
          concurrency: 10_001,
        },
        path: 'concurrency',
      },
      {
        why: 'instance id not a UUID',
        body: {
          agentId: 'a',
          instanceId: 'i-1',
          tenantId: TENANT,
          name: 'n',
          domain: 'data',
          tier: 'master',
          capabilities: ['x'],
          concurrency: 1,
        },
        path: 'instanceId',
      },
    ],
  },
  {
    cls: C.TaskLeaseRefDto,
    valid: [leaseRef],
    invalid: [{ why: 'epoch 0', body: { taskId: UUID_A, epoch: 0 }, path: 'epoch' }],
  },
  {
    cls: C.AgentRegisterReply,
    valid: [
      {
        state: 'healthy',
        heartbeatIntervalMs: 1000,
        dispatchStream: 'T1_SWARM_DISPATCH',
        dispatchConsumer: 'T1_dispatch-Fetcher-1',
        keep: [leaseRef],
      },
    ],
    invalid: [
      {
        why: 'zero heartbeat interval',
        body: { state: 'healthy', heartbeatIntervalMs: 0, dispatchStream: 's', dispatchConsumer: 'c', keep: [] },
        path: 'heartbeatIntervalMs',
      },
    ],
  },
  {
    cls: C.RunningAttemptDto,
    valid: [runningAttempt],
    invalid: [{ why: 'negative progress seq', body: with_(runningAttempt, { progressSeq: -1 }), path: 'progressSeq' }],
  },
  {
    cls: C.AgentHeartbeat,
    valid: [
      {
        agentId: 'Fetcher-1',
        instanceId: UUID_C,
        seq: 5,
        mode: 'ready',
        freeSlots: 2,
        running: [runningAttempt],
        cpuPercent: 3.2,
        memoryRssBytes: 1_000_000,
      },
    ],
    invalid: [
      {
        why: 'unknown mode',
        body: { agentId: 'Fetcher-1', instanceId: UUID_C, seq: 5, mode: 'busy', freeSlots: 2, running: [] },
        path: 'mode',
      },
    ],
  },
  {
    cls: C.AgentReportDto,
    valid: [report, { kind: 'started', taskId: UUID_A, epoch: 1, at: T0 }],
    invalid: [{ why: 'unknown kind', body: with_(report, { kind: 'finished' }), path: 'kind' }],
  },
  {
    cls: C.AgentReportBatch,
    valid: [{ agentId: 'Fetcher-1', instanceId: UUID_C, reports: [report] }],
    invalid: [{ why: 'no reports', body: { agentId: 'Fetcher-1', instanceId: UUID_C, reports: [] }, path: 'reports' }],
  },
  {
    cls: C.UsageDto,
    valid: [usage, {}],
    invalid: [{ why: 'empty provider', body: { provider: '' }, path: 'provider' }],
  },
  {
    cls: C.AttemptResultDto,
    valid: [attemptResult],
    invalid: [{ why: 'outcome not reportable by an agent', body: with_(attemptResult, { outcome: 'timed_out' }), path: 'outcome' }],
  },
  {
    cls: C.ResultBatch,
    valid: [{ agentId: 'Fetcher-1', instanceId: UUID_C, results: [attemptResult] }],
    invalid: [
      {
        why: 'nested result invalid',
        body: { agentId: 'Fetcher-1', instanceId: UUID_C, results: [with_(attemptResult, { epoch: 0 })] },
        path: 'results.0.epoch',
      },
    ],
  },
  {
    cls: C.CheckpointRequest,
    valid: [{ taskId: UUID_A, epoch: 1, state: { page: 3, cursor: 'abc' } }],
    invalid: [{ why: 'state over 256 KiB', body: { taskId: UUID_A, epoch: 1, state: { s: 'x'.repeat(257 * 1024) } }, path: 'state' }],
  },
  {
    cls: C.CheckpointReply,
    valid: [{ status: 'saved' }],
    invalid: [{ why: 'unknown status', body: { status: 'lost' }, path: 'status' }],
  },
  {
    cls: C.DispatchedTaskDto,
    valid: [dispatched],
    invalid: [
      { why: 'unknown priority', body: with_(dispatched, { priority: 'URGENT' }), path: 'priority' },
      { why: 'empty pool name', body: with_(dispatched, { pool: '' }), path: 'pool' },
    ],
  },
  {
    cls: C.DispatchBatch,
    valid: [{ agentId: 'Fetcher-1', instanceId: UUID_C, tasks: [dispatched] }],
    invalid: [{ why: 'no tasks', body: { agentId: 'Fetcher-1', instanceId: UUID_C, tasks: [] }, path: 'tasks' }],
  },
  {
    cls: C.AgentControlMessage,
    valid: [{ kind: 'cancel', instanceId: UUID_C, tasks: [leaseRef], reason: 'operator' }, { kind: 'drain' }],
    invalid: [
      { why: 'unknown kind', body: { kind: 'pause' }, path: 'kind' },
      { why: 'instance id not a uuid', body: { kind: 'restart', instanceId: 'me' }, path: 'instanceId' },
    ],
  },

  // dead letters, queues, events
  {
    cls: C.DeadLetterDto,
    valid: [deadLetter, with_(deadLetter, { replayedAt: null, replayedBy: null, errors: [] })],
    invalid: [{ why: 'nested error invalid', body: with_(deadLetter, { errors: [{}] }), path: 'errors.0' }],
  },
  {
    cls: C.DeadLetterPageDto,
    valid: [
      { items: [deadLetter], nextCursor: 'c' },
      { items: [], nextCursor: null },
    ],
    invalid: [{ why: 'item invalid', body: { items: [with_(deadLetter, { id: 'x' })], nextCursor: null }, path: 'items.0.id' }],
  },
  {
    cls: C.ListDeadLettersRequest,
    valid: [{ tenantId: TENANT, capability: 'data.fetch', includeReplayed: true, limit: 10, cursor: 'c' }],
    invalid: [{ why: 'includeReplayed as text', body: { tenantId: TENANT, includeReplayed: 'yes' }, path: 'includeReplayed' }],
  },
  {
    cls: C.DeadLetterRequest,
    valid: [{ tenantId: TENANT, deadLetterId: UUID_B, actor: 'admin' }],
    invalid: [{ why: 'id not a UUID', body: { tenantId: TENANT, deadLetterId: 'x' }, path: 'deadLetterId' }],
  },
  {
    cls: C.PriorityCountsDto,
    valid: [priorityCounts],
    invalid: [{ why: 'negative count', body: with_(priorityCounts, { HIGH: -1 }), path: 'HIGH' }],
  },
  {
    cls: C.QueueDepthDto,
    valid: [queueDepth, with_(queueDepth, { oldestQueuedAgeMs: null })],
    invalid: [{ why: 'nested count invalid', body: with_(queueDepth, { queued: with_(priorityCounts, { LOW: -1 }) }), path: 'queued.LOW' }],
  },
  {
    cls: C.QueueDepthsDto,
    valid: [{ items: [queueDepth] }, { items: [queueDepth], nextCursor: 'c' }, { items: [], nextCursor: null }],
    invalid: [{ why: 'item invalid', body: { items: [with_(queueDepth, { capability: 'Bad Cap' })] }, path: 'items.0.capability' }],
  },
  {
    cls: C.MeshEventDto,
    valid: [meshEvent],
    invalid: [{ why: 'type without entity', body: with_(meshEvent, { type: 'succeeded' }), path: 'type' }],
  },
  {
    cls: C.MeshEventBatch,
    valid: [{ source: 'coordinator', events: [meshEvent, with_(meshEvent, { type: 'agent.state_changed' })] }],
    invalid: [{ why: 'no events', body: { source: 'coordinator', events: [] }, path: 'events' }],
  },
  // gateway: API keys, flags, audit, alerts
  {
    cls: C.CreateApiKeyDto,
    valid: [
      { name: 'ci', role: 'operator', tenantId: 'acme', rateLimit: 100 },
      { name: 'ro', role: 'viewer' },
    ],
    invalid: [
      { why: 'unknown role', body: { name: 'x', role: 'root' }, path: 'role' },
      { why: 'empty name', body: { name: '', role: 'admin' }, path: 'name' },
      { why: 'bad tenant', body: { name: 'x', role: 'admin', tenantId: 'Acme!' }, path: 'tenantId' },
      { why: 'zero rate limit', body: { name: 'x', role: 'admin', rateLimit: 0 }, path: 'rateLimit' },
    ],
  },
  {
    cls: C.ApiKeyDto,
    valid: [gwApiKey, with_(gwApiKey, { rateLimit: null, createdBy: null, lastUsedAt: null, revokedAt: null, rotatedFrom: null })],
    invalid: [
      { why: 'prefix too short', body: with_(gwApiKey, { prefix: 'abc' }), path: 'prefix' },
      { why: 'unknown role', body: with_(gwApiKey, { role: 'owner' }), path: 'role' },
      { why: 'id not a UUID', body: with_(gwApiKey, { id: 'k1' }), path: 'id' },
    ],
  },
  {
    cls: C.ApiKeyPageDto,
    valid: [
      { items: [gwApiKey], nextCursor: 'c1' },
      { items: [], nextCursor: null },
    ],
    invalid: [{ why: 'bad item', body: { items: [with_(gwApiKey, { role: 1 })], nextCursor: null }, path: 'items.0.role' }],
  },
  {
    cls: C.ApiKeySecretDto,
    valid: [{ key: `sm_abcd1234_${'A'.repeat(32)}`, apiKey: gwApiKey }],
    invalid: [
      { why: 'key without prefix', body: { key: 'secret', apiKey: gwApiKey }, path: 'key' },
      { why: 'missing record', body: { key: `sm_abcd1234_${'A'.repeat(32)}` }, path: 'apiKey' },
    ],
  },
  {
    cls: C.FlagDto,
    valid: [gwFlag, with_(gwFlag, { set: false, updatedAt: null, updatedBy: null })],
    invalid: [
      { why: 'name with spaces', body: with_(gwFlag, { name: 'auto apply' }), path: 'name' },
      { why: 'enabled as string', body: with_(gwFlag, { enabled: 'on' }), path: 'enabled' },
    ],
  },
  {
    cls: C.FlagListDto,
    valid: [{ items: [gwFlag] }, { items: [gwFlag], nextCursor: 'c' }],
    invalid: [{ why: 'bad item', body: { items: [with_(gwFlag, { default: 'no' })] }, path: 'items.0.default' }],
  },
  {
    cls: C.SetFlagDto,
    valid: [{ enabled: true }, { enabled: false }],
    invalid: [{ why: 'enabled as "on"', body: { enabled: 'on' }, path: 'enabled' }],
  },
  {
    cls: C.AuditEntryDto,
    valid: [
      gwAudit,
      with_(gwAudit, {
        targetType: null,
        targetId: null,
        httpStatus: null,
        traceId: null,
        details: null,
        completedAt: null,
        outcome: 'pending',
      }),
    ],
    invalid: [
      { why: 'unknown outcome', body: with_(gwAudit, { outcome: 'ok' }), path: 'outcome' },
      { why: 'http status 42', body: with_(gwAudit, { httpStatus: 42 }), path: 'httpStatus' },
      { why: 'details as array', body: with_(gwAudit, { details: [1] }), path: 'details' },
    ],
  },
  {
    cls: C.AuditPageDto,
    valid: [{ items: [gwAudit], nextCursor: null }],
    invalid: [{ why: 'bad item', body: { items: [with_(gwAudit, { at: 'now' })], nextCursor: null }, path: 'items.0.at' }],
  },
  {
    cls: C.AlertChannelDto,
    valid: [
      { type: 'webhook', url: 'http://127.0.0.1:8080/hook' },
      { type: 'email', to: ['ops@example.com', 'oncall@example.org'] },
    ],
    invalid: [
      { why: 'unknown type', body: { type: 'sms' }, path: 'type' },
      { why: 'ftp url', body: { type: 'webhook', url: 'ftp://example.com/x' }, path: 'url' },
      { why: 'bad address', body: { type: 'email', to: ['not-an-address'] }, path: 'to' },
    ],
  },
  {
    cls: C.CreateAlertRuleDto,
    valid: [
      {
        name: 'dl growth',
        kind: 'dead_letter_growth',
        threshold: 3,
        windowMs: 60_000,
        cooldownMs: 0,
        severity: 'critical',
        channels: [gwSlack],
        enabled: true,
      },
      { name: 'died', kind: 'agent_died', channels: [] },
    ],
    invalid: [
      { why: 'unknown kind', body: { name: 'x', kind: 'disk_full', channels: [] }, path: 'kind' },
      { why: 'negative threshold', body: { name: 'x', kind: 'error_rate', threshold: -1, channels: [] }, path: 'threshold' },
      { why: 'bad channel', body: { name: 'x', kind: 'agent_died', channels: [{ type: 'pager' }] }, path: 'channels.0.type' },
    ],
  },
  {
    cls: C.UpdateAlertRuleDto,
    valid: [{ name: 'n', threshold: 0.5, windowMs: 1000, cooldownMs: 10, severity: 'info', channels: [gwSlack], enabled: false }, {}],
    invalid: [{ why: 'window 0', body: { windowMs: 0 }, path: 'windowMs' }],
  },
  {
    cls: C.AlertRuleDto,
    valid: [gwRule, with_(gwRule, { threshold: null, lastFiredAt: null })],
    invalid: [
      { why: 'unknown severity', body: with_(gwRule, { severity: 'page' }), path: 'severity' },
      { why: 'negative cooldown', body: with_(gwRule, { cooldownMs: -1 }), path: 'cooldownMs' },
    ],
  },
  {
    cls: C.AlertRulePageDto,
    valid: [{ items: [gwRule], nextCursor: null }],
    invalid: [{ why: 'bad item', body: { items: [with_(gwRule, { kind: 'x' })], nextCursor: null }, path: 'items.0.kind' }],
  },
  {
    cls: C.AlertDeliveryDto,
    valid: [gwDelivery, with_(gwDelivery, { state: 'pending', lastError: null, deliveredAt: null, attempts: 0 })],
    invalid: [{ why: 'negative attempts', body: with_(gwDelivery, { attempts: -1 }), path: 'attempts' }],
  },
  {
    cls: C.AlertDto,
    valid: [gwAlert, with_(gwAlert, { ruleId: null, deliveries: [] })],
    invalid: [
      { why: 'data as string', body: with_(gwAlert, { data: 'x' }), path: 'data' },
      { why: 'bad delivery', body: with_(gwAlert, { deliveries: [with_(gwDelivery, { state: 'lost' })] }), path: 'deliveries.0.state' },
    ],
  },
  {
    cls: C.AlertPageDto,
    valid: [{ items: [gwAlert], nextCursor: 'n' }],
    invalid: [{ why: 'bad item', body: { items: [with_(gwAlert, { firedAt: 1 })], nextCursor: null }, path: 'items.0.firedAt' }],
  },
  {
    cls: C.WhoAmIDto,
    valid: [
      { tenantId: TENANT, role: 'admin', keyId: 'bootstrap', name: 'bootstrap admin key' },
      { tenantId: 'acme', role: 'viewer', keyId: UUID_A, name: null },
    ],
    invalid: [{ why: 'unknown role', body: { tenantId: TENANT, role: 'god', keyId: 'k', name: null }, path: 'role' }],
  },
  // resources (issue #5): pools, reservations, budgets, allocations, views, credit exchange
  {
    cls: C.PoolLimitsDto,
    valid: [rLimits, {}],
    invalid: [
      { why: 'negative tokens/min', body: { inputTokensPerMinute: -1 }, path: 'inputTokensPerMinute' },
      { why: 'window under 100 ms', body: { windowMs: 10 }, path: 'windowMs' },
      { why: 'fractional concurrency', body: { concurrency: 1.5 }, path: 'concurrency' },
    ],
  },
  {
    cls: C.PoolPricingDto,
    valid: [rPricing, {}],
    invalid: [{ why: 'negative price', body: { inputUsdPer1k: -0.1 }, path: 'inputUsdPer1k' }],
  },
  {
    cls: C.ResourceEstimateDto,
    valid: [rEstimate, {}],
    invalid: [{ why: 'negative tokens', body: { tokensIn: -5 }, path: 'tokensIn' }],
  },
  {
    cls: C.PoolSpecDto,
    valid: [rPoolSpec, { name: 'p1', provider: 'sim', model: 'm', capabilities: [], limits: {} }],
    invalid: [
      { why: 'name with upper case', body: with_(rPoolSpec, { name: 'Pool' }), path: 'name' },
      { why: 'bad tenant', body: with_(rPoolSpec, { tenants: ['A B'] }), path: 'tenants' },
      { why: 'negative limit', body: with_(rPoolSpec, { limits: { concurrency: -1 } }), path: 'limits.concurrency' },
    ],
  },
  {
    cls: C.PoolPatchDto,
    valid: [rPoolPatch, {}],
    invalid: [{ why: 'bad capability', body: { capabilities: ['Bad Cap'] }, path: 'capabilities' }],
  },
  {
    cls: C.PoolDto,
    valid: [rPool, with_(rPool, { keyRef: null, pausedUntil: null, pauseReason: null, pricing: undefined, defaultEstimate: undefined })],
    invalid: [{ why: 'paused not boolean', body: with_(rPool, { paused: 'no' }), path: 'paused' }],
  },
  {
    cls: C.PoolPageDto,
    valid: [
      { items: [rPool], nextCursor: 'abc' },
      { items: [], nextCursor: null },
    ],
    invalid: [{ why: 'nested pool invalid', body: { items: [with_(rPool, { id: 'x' })], nextCursor: null }, path: 'items.0.id' }],
  },
  {
    cls: C.CreatePoolRequest,
    valid: [{ tenantId: TENANT, pool: rPoolSpec }],
    invalid: [{ why: 'pool missing a name', body: { tenantId: TENANT, pool: with_(rPoolSpec, { name: undefined }) }, path: 'pool.name' }],
  },
  {
    cls: C.UpdatePoolRequest,
    valid: [{ tenantId: TENANT, poolId: UUID_A, patch: rPoolPatch }],
    invalid: [{ why: 'pool id not a UUID', body: { tenantId: TENANT, poolId: 'p', patch: {} }, path: 'poolId' }],
  },
  {
    cls: C.PoolRequest,
    valid: [{ tenantId: TENANT, poolId: UUID_A }],
    invalid: [{ why: 'pool id not a UUID', body: { tenantId: TENANT, poolId: 'p' }, path: 'poolId' }],
  },
  {
    cls: C.PausePoolRequest,
    valid: [{ tenantId: TENANT, poolId: UUID_A, durationMs: 5000, reason: 'provider maintenance' }],
    invalid: [{ why: 'zero duration', body: { tenantId: TENANT, poolId: UUID_A, durationMs: 0 }, path: 'durationMs' }],
  },
  {
    cls: C.ResourceListRequest,
    valid: [{ tenantId: TENANT, poolId: UUID_A, limit: 10, cursor: 'abc' }],
    invalid: [{ why: 'limit above 500', body: { tenantId: TENANT, limit: 501 }, path: 'limit' }],
  },
  {
    cls: C.ReservationSpecDto,
    valid: [rReservationSpec, { poolId: UUID_A, startsAt: T0, endsAt: T1 }],
    invalid: [
      { why: 'negative slots', body: with_(rReservationSpec, { slots: -1 }), path: 'slots' },
      { why: 'startsAt not ISO', body: with_(rReservationSpec, { startsAt: 'soon' }), path: 'startsAt' },
    ],
  },
  {
    cls: C.ReservationDto,
    valid: [rReservation, with_(rReservation, { workflowId: null, note: null })],
    invalid: [{ why: 'active not boolean', body: with_(rReservation, { active: 1 }), path: 'active' }],
  },
  {
    cls: C.ReservationPageDto,
    valid: [{ items: [rReservation], nextCursor: null }],
    invalid: [{ why: 'nested invalid', body: { items: [with_(rReservation, { poolId: 'x' })], nextCursor: null }, path: 'items.0.poolId' }],
  },
  {
    cls: C.CreateReservationRequest,
    valid: [{ tenantId: TENANT, reservation: rReservationSpec }],
    invalid: [
      {
        why: 'no pool',
        body: { tenantId: TENANT, reservation: with_(rReservationSpec, { poolId: undefined }) },
        path: 'reservation.poolId',
      },
    ],
  },
  {
    cls: C.ReservationRequest,
    valid: [{ tenantId: TENANT, reservationId: UUID_B }],
    invalid: [{ why: 'id not a UUID', body: { tenantId: TENANT, reservationId: 'r' }, path: 'reservationId' }],
  },
  {
    cls: C.BudgetSpecDto,
    valid: [rBudgetSpec, { limitUsd: 5, action: 'reject' }],
    invalid: [
      { why: 'negative limit', body: with_(rBudgetSpec, { limitUsd: -1 }), path: 'limitUsd' },
      { why: 'unknown action', body: with_(rBudgetSpec, { action: 'panic' }), path: 'action' },
      { why: 'ratio above 1', body: with_(rBudgetSpec, { nearLimitRatio: 1.5 }), path: 'nearLimitRatio' },
    ],
  },
  {
    cls: C.BudgetPatchDto,
    valid: [{ limitUsd: 10, periodMs: 1000, nearLimitRatio: 0.5, action: 'defer_low' }, {}],
    invalid: [{ why: 'negative limit', body: { limitUsd: -1 }, path: 'limitUsd' }],
  },
  {
    cls: C.BudgetDto,
    valid: [rBudget, with_(rBudget, { workflowId: null })],
    invalid: [{ why: 'unknown state', body: with_(rBudget, { state: 'broke' }), path: 'state' }],
  },
  {
    cls: C.BudgetPageDto,
    valid: [{ items: [rBudget], nextCursor: null }],
    invalid: [{ why: 'nested invalid', body: { items: [with_(rBudget, { spentUsd: -1 })], nextCursor: null }, path: 'items.0.spentUsd' }],
  },
  {
    cls: C.CreateBudgetRequest,
    valid: [{ tenantId: TENANT, budget: rBudgetSpec }],
    invalid: [{ why: 'no action', body: { tenantId: TENANT, budget: { limitUsd: 1 } }, path: 'budget.action' }],
  },
  {
    cls: C.UpdateBudgetRequest,
    valid: [{ tenantId: TENANT, budgetId: UUID_A, patch: { limitUsd: 3 } }],
    invalid: [{ why: 'id not a UUID', body: { tenantId: TENANT, budgetId: 'b', patch: {} }, path: 'budgetId' }],
  },
  {
    cls: C.BudgetRequest,
    valid: [{ tenantId: TENANT, budgetId: UUID_A }],
    invalid: [{ why: 'id not a UUID', body: { tenantId: TENANT, budgetId: 'b' }, path: 'budgetId' }],
  },
  {
    cls: C.AllocateSpecDto,
    valid: [rAllocateSpec, { poolId: UUID_A }],
    invalid: [{ why: 'negative tokens', body: with_(rAllocateSpec, { tokensIn: -1 }), path: 'tokensIn' }],
  },
  {
    cls: C.AllocationDto,
    valid: [rAllocation, with_(rAllocation, { releasedAt: null })],
    invalid: [{ why: 'expiresAt not ISO', body: with_(rAllocation, { expiresAt: 'later' }), path: 'expiresAt' }],
  },
  {
    cls: C.AllocateRequest,
    valid: [{ tenantId: TENANT, allocation: rAllocateSpec }],
    invalid: [
      { why: 'ttl too short', body: { tenantId: TENANT, allocation: with_(rAllocateSpec, { ttlMs: 1 }) }, path: 'allocation.ttlMs' },
    ],
  },
  {
    cls: C.AllocationRequest,
    valid: [{ tenantId: TENANT, allocationId: UUID_A }],
    invalid: [{ why: 'id not a UUID', body: { tenantId: TENANT, allocationId: 'a' }, path: 'allocationId' }],
  },
  {
    cls: C.UsageFiguresDto,
    valid: [rUsageFigures],
    invalid: [{ why: 'negative requests', body: with_(rUsageFigures, { requests: -1 }), path: 'requests' }],
  },
  {
    cls: C.TenantAllocationDto,
    valid: [rTenantAllocation, with_(rTenantAllocation, { slots: undefined })],
    invalid: [{ why: 'negative leases', body: with_(rTenantAllocation, { leases: -1 }), path: 'leases' }],
  },
  {
    cls: C.PoolAllocationDto,
    valid: [rPoolAllocation],
    invalid: [{ why: 'unknown policy', body: with_(rPoolAllocation, { policy: 'lottery' }), path: 'policy' }],
  },
  {
    cls: C.AllocationViewDto,
    valid: [{ at: T0, pools: [rPoolAllocation] }],
    invalid: [{ why: 'nested invalid', body: { at: T0, pools: [with_(rPoolAllocation, { paused: 'x' })] }, path: 'pools.0.paused' }],
  },
  {
    cls: C.UtilisationDto,
    valid: [rUtilisation, {}],
    invalid: [{ why: 'negative ratio', body: { tokens: -0.5 }, path: 'tokens' }],
  },
  {
    cls: C.DemandForecastDto,
    valid: [rForecast],
    invalid: [{ why: 'unknown scaling', body: with_(rForecast, { scaling: 'sideways' }), path: 'scaling' }],
  },
  {
    cls: C.PoolMonitoringDto,
    valid: [rPoolMonitoring],
    invalid: [{ why: 'negative 429 count', body: with_(rPoolMonitoring, { rateLimited: -1 }), path: 'rateLimited' }],
  },
  {
    cls: C.MonitoringDto,
    valid: [{ at: T0, pools: [rPoolMonitoring] }],
    invalid: [{ why: 'at not ISO', body: { at: 'now', pools: [] }, path: 'at' }],
  },
  {
    cls: C.DemandEntryDto,
    valid: [rDemandEntry, with_(rDemandEntry, { earliestDeadlineInMs: -50 })],
    invalid: [
      { why: 'three priorities', body: with_(rDemandEntry, { queued: [1, 2, 3] }), path: 'queued' },
      { why: 'negative count', body: with_(rDemandEntry, { queued: [1, -2, 3, 4] }), path: 'queued' },
    ],
  },
  {
    cls: C.DemandPoolDto,
    valid: [{ poolId: UUID_A, entries: [rDemandEntry] }],
    invalid: [
      { why: 'nested invalid', body: { poolId: UUID_A, entries: [with_(rDemandEntry, { running: -1 })] }, path: 'entries.0.running' },
    ],
  },
  {
    cls: C.SpentDto,
    valid: [rSpent],
    invalid: [{ why: 'final not boolean', body: with_(rSpent, { final: 'yes' }), path: 'final' }],
  },
  {
    cls: C.LeaseAdmitDto,
    valid: [rLeaseAdmit],
    invalid: [{ why: 'unknown priority', body: with_(rLeaseAdmit, { priority: 'URGENT' }), path: 'priority' }],
  },
  {
    cls: C.LeaseEndDto,
    valid: [rLeaseEnd, { taskId: UUID_A, attempt: 1, poolId: UUID_B, outcome: 'lost' }],
    invalid: [{ why: 'attempt 0', body: with_(rLeaseEnd, { attempt: 0 }), path: 'attempt' }],
  },
  {
    cls: C.RateLimitReportDto,
    valid: [{ poolId: UUID_A, retryAfterMs: 1500, taskId: UUID_B }],
    invalid: [{ why: 'negative retry-after', body: { poolId: UUID_A, retryAfterMs: -1 }, path: 'retryAfterMs' }],
  },
  {
    cls: C.DemandReport,
    valid: [rDemandReport],
    invalid: [
      { why: 'nested spent invalid', body: with_(rDemandReport, { spent: [with_(rSpent, { grantId: 'g' })] }), path: 'spent.0.grantId' },
    ],
  },
  {
    cls: C.GrantDto,
    valid: [rGrant, { grantId: UUID_C, poolId: UUID_B, tenantId: TENANT, ttlMs: 1000 }],
    invalid: [{ why: 'ttl 0', body: with_(rGrant, { ttlMs: 0 }), path: 'ttlMs' }],
  },
  {
    cls: C.CapabilityEstimateDto,
    valid: [rCapEstimate],
    invalid: [{ why: 'bad capability', body: with_(rCapEstimate, { capability: 'No Way' }), path: 'capability' }],
  },
  {
    cls: C.PoolBindingDto,
    valid: [rBinding],
    invalid: [
      {
        why: 'nested estimate invalid',
        body: with_(rBinding, { estimates: [with_(rCapEstimate, { samples: -1 })] }),
        path: 'estimates.0.samples',
      },
    ],
  },
  {
    cls: C.PoolBindingsDto,
    valid: [{ pools: [rBinding] }, { pools: [] }],
    invalid: [{ why: 'nested binding invalid', body: { pools: [with_(rBinding, { paused: 'x' })] }, path: 'pools.0.paused' }],
  },
  {
    cls: C.BudgetGrantDto,
    valid: [rBudgetGrant, with_(rBudgetGrant, { workflowId: undefined })],
    invalid: [{ why: 'unknown state', body: with_(rBudgetGrant, { state: 'broke' }), path: 'state' }],
  },
  {
    cls: C.GrantReply,
    valid: [{ pools: [rBinding], grants: [rGrant], budgets: [rBudgetGrant], reportIntervalMs: 100 }],
    invalid: [{ why: 'interval 0', body: { pools: [], grants: [], budgets: [], reportIntervalMs: 0 }, path: 'reportIntervalMs' }],
  },
  {
    cls: C.SnapshotDemandDto,
    valid: [rSnapDemand],
    invalid: [{ why: 'negative borrowed', body: with_(rSnapDemand, { borrowed: -1 }), path: 'borrowed' }],
  },
  {
    cls: C.SnapshotLeaseDto,
    valid: [rSnapLease],
    invalid: [{ why: 'unknown priority', body: with_(rSnapLease, { priority: 'NOW' }), path: 'priority' }],
  },
  {
    cls: C.SnapshotReservationDto,
    valid: [rSnapReservation],
    invalid: [{ why: 'negative slots', body: with_(rSnapReservation, { slots: -1 }), path: 'slots' }],
  },
  {
    cls: C.PoolSnapshotDto,
    valid: [rPoolSnapshot, with_(rPoolSnapshot, { concurrency: undefined })],
    invalid: [
      { why: 'nested lease invalid', body: with_(rPoolSnapshot, { leases: [with_(rSnapLease, { ageMs: -1 })] }), path: 'leases.0.ageMs' },
    ],
  },
  {
    cls: C.ResourceSnapshot,
    valid: [{ at: T0, pools: [rPoolSnapshot] }],
    invalid: [{ why: 'at not ISO', body: { at: 'x', pools: [] }, path: 'at' }],
  },
  {
    cls: C.PreemptTaskDto,
    valid: [{ taskId: UUID_A, reason: 'CRITICAL task waiting' }],
    invalid: [{ why: 'empty reason', body: { taskId: UUID_A, reason: '' }, path: 'reason' }],
  },
  {
    cls: C.PreemptTasksRequest,
    valid: [{ tasks: [{ taskId: UUID_A, reason: 'CRITICAL task waiting' }] }],
    invalid: [{ why: 'no tasks', body: { tasks: [] }, path: 'tasks' }],
  },
  {
    cls: C.PreemptTasksReply,
    valid: [{ preempted: [UUID_A], skipped: [UUID_B] }],
    invalid: [{ why: 'not a UUID', body: { preempted: ['x'], skipped: [] }, path: 'preempted' }],
  },

  // conflicts (issue #5)
  {
    cls: C.ConflictActionDto,
    valid: [rConflictAction, { kind: 'record' }],
    invalid: [{ why: 'empty kind', body: { kind: '' }, path: 'kind' }],
  },
  {
    cls: C.ResolutionDto,
    valid: [rResolution],
    invalid: [
      { why: 'nested action invalid', body: with_(rResolution, { actions: [{ kind: 'preempt', taskId: 'x' }] }), path: 'actions.0.taskId' },
    ],
  },
  {
    cls: C.ConflictDto,
    valid: [rConflict, with_(rConflict, { poolId: null, resolvedAt: null, resolutions: [] })],
    invalid: [{ why: 'unknown kind', body: with_(rConflict, { kind: 'bad_vibes' }), path: 'kind' }],
  },
  {
    cls: C.ConflictPageDto,
    valid: [{ items: [rConflict], nextCursor: null }],
    invalid: [{ why: 'nested invalid', body: { items: [with_(rConflict, { status: 'x' })], nextCursor: null }, path: 'items.0.status' }],
  },
  {
    cls: C.ListConflictsRequest,
    valid: [{ tenantId: TENANT, status: 'open', kind: 'starvation', poolId: UUID_A, limit: 5, cursor: 'c' }],
    invalid: [{ why: 'unknown status', body: { tenantId: TENANT, status: 'closed' }, path: 'status' }],
  },
  {
    cls: C.ConflictRequest,
    valid: [{ tenantId: TENANT, conflictId: UUID_A }],
    invalid: [{ why: 'id not a UUID', body: { tenantId: TENANT, conflictId: 'c' }, path: 'conflictId' }],
  },
  {
    cls: C.ResolveConflictDto,
    valid: [{ action: 'preempt', taskIds: [UUID_A], policy: 'fair_share', note: 'by hand' }, { action: 'dismiss' }],
    invalid: [{ why: 'unknown action', body: { action: 'ignore' }, path: 'action' }],
  },
  {
    cls: C.ResolveConflictRequest,
    valid: [{ tenantId: TENANT, conflictId: UUID_A, resolvedBy: 'api-key:bootstrap', resolution: { action: 'accept' } }],
    invalid: [{ why: 'no resolution', body: { tenantId: TENANT, conflictId: UUID_A, resolvedBy: 'x' }, path: 'resolution' }],
  },
  {
    cls: C.PolicySpecDto,
    valid: [rPolicySpec, { kind: 'fifo' }],
    invalid: [
      { why: 'unknown kind', body: { kind: 'lottery' }, path: 'kind' },
      { why: 'negative weight', body: { kind: 'fair_share', weights: { a: -1 } }, path: 'weights' },
    ],
  },
  {
    cls: C.PolicyDto,
    valid: [rPolicy, with_(rPolicy, { poolId: null })],
    invalid: [{ why: 'aging 0', body: with_(rPolicy, { agingStepMs: 0 }), path: 'agingStepMs' }],
  },
  {
    cls: C.PolicyListDto,
    valid: [{ items: [rPolicy] }, { items: [rPolicy], nextCursor: null }],
    invalid: [{ why: 'nested invalid', body: { items: [with_(rPolicy, { kind: 'x' })] }, path: 'items.0.kind' }],
  },
  {
    cls: C.SetPolicyRequest,
    valid: [{ tenantId: TENANT, poolId: UUID_A, policy: rPolicySpec }],
    invalid: [{ why: 'no policy', body: { tenantId: TENANT }, path: 'policy' }],
  },
  {
    cls: C.ListPoliciesRequest,
    valid: [{ tenantId: TENANT, poolId: UUID_A }],
    invalid: [{ why: 'pool id not a UUID', body: { tenantId: TENANT, poolId: 'p' }, path: 'poolId' }],
  },
  {
    cls: C.AllPoliciesRequest,
    valid: [{ since: T0 }, {}],
    invalid: [{ why: 'since not ISO', body: { since: 'yesterday' }, path: 'since' }],
  },
  // performance optimizer (fixtures/performance.fixtures.ts)
  ...PERFORMANCE_FIXTURES,
  // workflows, subtasks, validation checkpoints, approvals (fixtures/workflow.fixtures.ts)
  ...WORKFLOW_FIXTURES,
];

/**
 * Required properties guarded only by `@ValidateNested()` would pass validation when left out
 * (class-validator skips nested validation of `undefined`); every one needs `@IsDefined()`.
 */
const KNOWN_UNENFORCED_REQUIRED: string[] = [];

// ── helpers ───────────────────────────────────────────────────────────────

function metadataOf(cls: AnyClass): ValidationMetadata[] {
  return getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false);
}

/** Every exported class carrying class-validator metadata (own or inherited). */
function exportedDtoClasses(): Map<string, AnyClass> {
  const out = new Map<string, AnyClass>();
  for (const [name, value] of Object.entries(contracts)) {
    if (
      typeof value === 'function' &&
      /^class\s/.test(Function.prototype.toString.call(value)) &&
      metadataOf(value as AnyClass).length > 0
    ) {
      out.set(name, value as AnyClass);
    }
  }
  return out;
}

function validatedProperties(cls: AnyClass): string[] {
  return [...new Set(metadataOf(cls).map((m) => m.propertyName))].sort();
}

function requiredProperties(cls: AnyClass): string[] {
  const optional = new Set(
    metadataOf(cls)
      .filter((m) => m.type === 'conditionalValidation')
      .map((m) => m.propertyName),
  );
  return validatedProperties(cls).filter((p) => !optional.has(p));
}

/** Only nested validation guards the property (no validator rejects `undefined`). */
function onlyNested(cls: AnyClass, prop: string): boolean {
  const kinds = metadataOf(cls)
    .filter((m) => m.propertyName === prop)
    .map((m) => m.type);
  return kinds.every((k) => k === 'nestedValidation');
}

/** The full wire path: envelope → bytes → envelope → DTO. */
function throughTheWire<T extends object>(cls: new () => T, body: unknown): T {
  const env = createEnvelope({ from: 'client:test', to: 'coordinator', type: `test.${cls.name}`, body: body as object });
  const decoded = decodeEnvelope(encodeEnvelope(env));
  expect(decoded.id).toBe(env.id);
  return validatePlain(cls, decoded.body);
}

function rejection(cls: AnyClass, body: unknown): { code: string; violations: FieldViolation[] } {
  try {
    throughTheWire(cls, body);
  } catch (err) {
    if (!(err instanceof SwarmError)) throw err;
    return { code: err.code, violations: (err.details?.violations ?? []) as FieldViolation[] };
  }
  throw new Error(`${cls.name}: ${JSON.stringify(body).slice(0, 200)} was accepted`);
}

function expectRejected(cls: AnyClass, body: unknown, path: string): void {
  const { code, violations } = rejection(cls, body);
  expect(code).toBe('VALIDATION_FAILED');
  const paths = violations.map((v) => v.path);
  const hit = paths.some((p) => p === path || p.startsWith(`${path}.`));
  if (!hit) throw new Error(`${cls.name}: expected a violation at "${path}", got ${JSON.stringify(paths)}`);
}

/** A value of another JSON type than `v`; for `null`, another type than the property's non-null samples. */
function wrongType(v: unknown, samples: unknown[] = []): unknown {
  if (typeof v === 'string') return 12345;
  if (typeof v === 'number') return 'not-a-number';
  if (typeof v === 'boolean') return 'true';
  if (v === null) {
    const sample = samples.find((x) => x !== null && x !== undefined);
    return sample !== undefined ? wrongType(sample) : [12345];
  }
  return 'not-an-object';
}

const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
const byName = new Map(FIXTURES.map((f) => [f.cls, f]));

// ── tests ─────────────────────────────────────────────────────────────────

describe('DTO fixtures cover the contracts', () => {
  const classes = exportedDtoClasses();

  it('finds the DTO classes through class-validator metadata', () => {
    expect(classes.size).toBeGreaterThanOrEqual(50);
    expect(classes.get('AgentMessage')).toBe(C.AgentMessage);
    expect(classes.get('HealthRequest')).toBe(C.HealthRequest);
  });

  it('every exported validated class has a fixture (add one when you add a DTO)', () => {
    const missing = [...classes.keys()].filter((n) => !byName.has(classes.get(n)!)).sort();
    expect(missing).toEqual([]);
  });

  it('every fixture is for an exported class, once', () => {
    const exported = new Set(classes.values());
    for (const f of FIXTURES) expect(exported.has(f.cls)).toBe(true);
    expect(byName.size).toBe(FIXTURES.length);
  });

  it('every class used by an exported message definition has a fixture', () => {
    const used = new Set<AnyClass>();
    const visit = (v: unknown, depth: number): void => {
      if (typeof v !== 'object' || v === null || depth > 3) return;
      const d = v as { kind?: string; request?: AnyClass; reply?: AnyClass; payload?: AnyClass };
      if (d.kind === 'command' && d.request && d.reply) {
        used.add(d.request);
        used.add(d.reply);
      } else if (d.kind === 'message' && d.payload) used.add(d.payload);
      else for (const x of Object.values(v)) visit(x, depth + 1);
    };
    for (const v of Object.values(contracts)) visit(v, 0);
    expect(used.size).toBeGreaterThan(10);
    const missing = [...used].filter((c) => !byName.has(c)).map((c) => c.name);
    expect(missing).toEqual([]);
  });

  it('the valid fixtures of each class set every validated property at least once', () => {
    const gaps: string[] = [];
    for (const f of FIXTURES) {
      const set = new Set(f.valid.flatMap((v) => Object.keys(v).filter((k) => v[k] !== undefined)));
      for (const p of validatedProperties(f.cls)) if (!set.has(p)) gaps.push(`${f.cls.name}.${p}`);
    }
    expect(gaps).toEqual([]);
  });

  it('every required nested property is enforced (@IsDefined next to @ValidateNested)', () => {
    const unenforced: string[] = [];
    for (const f of FIXTURES) {
      for (const p of requiredProperties(f.cls)) if (onlyNested(f.cls, p)) unenforced.push(`${f.cls.name}.${p}`);
    }
    expect(unenforced.sort()).toEqual(KNOWN_UNENFORCED_REQUIRED);
  });
});

describe.each(FIXTURES.map((f) => [f.cls.name, f] as const))('%s', (_name, f) => {
  it('round-trips every valid fixture through the wire unchanged', () => {
    for (const valid of f.valid) {
      const out = throughTheWire(f.cls, json(valid));
      expect(out).toBeInstanceOf(f.cls);
      expect(json(out)).toStrictEqual(json(valid));
    }
  });

  it('rejects the hand-written invalid variants with VALIDATION_FAILED at the right path', () => {
    expect(f.invalid.length).toBeGreaterThan(0);
    for (const bad of f.invalid) {
      try {
        expectRejected(f.cls, json(bad.body), bad.path);
      } catch (err) {
        throw new Error(`${f.cls.name} (${bad.why}): ${(err as Error).message}`);
      }
    }
  });

  it('rejects an unknown field by name', () => {
    const { code, violations } = rejection(f.cls, { ...(json(f.valid[0]) as Plain), zzUnknown: 1 });
    expect(code).toBe('VALIDATION_FAILED');
    expect(violations).toContainEqual({ path: 'zzUnknown', constraint: 'whitelistValidation', message: 'unknown field "zzUnknown"' });
  });

  it('rejects each required property when it is missing', () => {
    for (const p of requiredProperties(f.cls)) {
      if (KNOWN_UNENFORCED_REQUIRED.includes(`${f.cls.name}.${p}`)) continue;
      const body = json(f.valid[0]) as Plain;
      delete body[p];
      expectRejected(f.cls, body, p);
    }
  });

  it('rejects each property given a value of the wrong JSON type', () => {
    for (const valid of f.valid) {
      for (const [p, v] of Object.entries(json(valid) as Plain)) {
        const wrongs = [
          wrongType(
            v,
            f.valid.map((x) => x[p]),
          ),
        ];
        // the other container: an array where an object is declared, an object where an array is
        if (Array.isArray(v)) wrongs.push({});
        else if (typeof v === 'object' && v !== null) wrongs.push([]);
        for (const wrong of wrongs) {
          try {
            expectRejected(f.cls, { ...(json(valid) as Plain), [p]: wrong }, p);
          } catch (err) {
            throw new Error(`${f.cls.name}.${p} = ${JSON.stringify(wrong)}: ${(err as Error).message}`);
          }
        }
      }
    }
  });
});
