import { randomUUID } from 'node:crypto';
import type { AgentDto, DeadLetterDto, QueueDepthDto, SubmitTaskDto, TaskDto } from '@swarm-mesh/contracts';

const NOW = '2025-01-01T00:00:00.000Z';

/** A valid TaskDto as the coordinator would answer it. */
export function taskFixture(tenantId: string, overrides: Partial<TaskDto> = {}, submitted?: SubmitTaskDto): TaskDto {
  return {
    id: randomUUID(),
    tenantId,
    capability: submitted?.capability ?? 'data.fetch',
    state: 'queued',
    priority: submitted?.priority ?? 'MEDIUM',
    input: submitted?.input ?? {},
    attempts: [],
    attempt: 0,
    maxAttempts: submitted?.retry?.maxAttempts ?? 4,
    labels: submitted?.labels ?? {},
    traceId: '0af7651916cd43dd8448eb211c80319c',
    createdAt: NOW,
    updatedAt: NOW,
    ...(submitted?.idempotencyKey ? { idempotencyKey: submitted.idempotencyKey } : {}),
    ...overrides,
  };
}

export function agentFixture(tenantId: string, id: string, overrides: Partial<AgentDto> = {}): AgentDto {
  return {
    id,
    tenantId,
    name: `agent ${id}`,
    domain: 'data',
    tier: 'specialist',
    capabilities: ['data.fetch'],
    concurrency: 4,
    state: 'healthy',
    instanceId: randomUUID(),
    version: '1.0.0',
    load: { running: 1, freeSlots: 3 },
    stats: { cpuPercent: 12.5, memoryRssBytes: 1000, succeeded: 10, failed: 2, consecutiveFailures: 0 },
    breaker: { state: 'closed' },
    lastHeartbeatAt: NOW,
    registeredAt: NOW,
    metadata: { region: 'local' },
    ...overrides,
  };
}

export function deadLetterFixture(tenantId: string, id: string): DeadLetterDto {
  return {
    id,
    taskId: randomUUID(),
    tenantId,
    capability: 'data.fetch',
    reason: 'attempts exhausted',
    errors: [{ message: 'provider timeout', code: 'PROVIDER_TIMEOUT', retryable: true, attempt: 1, at: NOW }],
    createdAt: NOW,
  };
}

export function queueFixture(capability: string): QueueDepthDto {
  return {
    capability,
    queued: { LOW: 1, MEDIUM: 2, HIGH: 0, CRITICAL: 0 },
    totalQueued: 3,
    dispatched: 1,
    running: 2,
    retryScheduled: 0,
    oldestQueuedAgeMs: 1200,
    availableAgents: 2,
    freeSlots: 5,
  };
}
