import { defineMessage } from '../definitions/definitions';
import { MeshEventBatch } from '../dto/event.dto';
import { eventSubject, STREAMS } from '../subjects/subjects';

/**
 * Facts the gateway's alert rules listen for on the EVENTS stream (`swarm.evt.>`, bodies
 * MeshEventBatch, one event = `{type, ts, tenantId, data}`). The task and agent events come from
 * the coordinator today; the others are for the services that own the facts to emit (any
 * `swarm.evt.<entity>.<event>` subject of the EVENTS stream is fine — the gateway matches on
 * the event `type`). `data` fields listed are the ones the alert reads; extra fields are kept in
 * the alert's data.
 */
export const ALERT_SOURCE_EVENTS = {
  /** coordinator. data: {taskId, capability, deadLetterId} → dead_letter_growth. */
  'task.dead_lettered': 'A task exhausted its attempts.',
  /** coordinator. data: {agentId, from, to} with to = "dead" → agent_died. */
  'agent.state_changed': 'An agent changed state.',
  /** coordinator. Attempt outcomes for error_rate: task.succeeded counts as a success; task.retry_scheduled, task.dead_lettered, task.timed_out as failures. */
  'task.succeeded': 'A task succeeded (data.totalMs = submit → success; sla_missed compares it with the rule threshold).',
  'task.retry_scheduled': 'An attempt failed and a retry is scheduled.',
  'task.timed_out': 'A task timed out.',
  /** resource-allocator. data: {poolId, provider?, resource?, capacity?, used?} → pool_exhausted. */
  'pool.exhausted': 'A resource pool has no capacity left for a request.',
  /** resource-allocator. data: {budgetId|poolId, used, limit, ratio (0..1)} → budget_near_limit when ratio ≥ rule threshold. */
  'budget.usage': 'A cost budget’s usage changed.',
  /** resource-allocator. data: {budgetId|poolId, used, limit, ratio} → budget_near_limit (always fires the rule). */
  'budget.near_limit': 'A cost budget crossed its warning level.',
  /** performance-optimizer. data: {capability?, provider?, agentId?, metric, baseline, current} → regression_detected. */
  'performance.regression_detected': 'A regression against the baseline was detected.',
  /** coordinator (or anyone who knows deadlines). data: {taskId, deadline, finishedAt?} → sla_missed. */
  'task.sla_missed': 'A task missed its deadline.',
} as const;

export type AlertSourceEventType = keyof typeof ALERT_SOURCE_EVENTS;

/** Alerts the gateway raised, as events (every gateway replica fans them out to its WebSocket clients). */
export const AlertEvents = {
  fired: defineMessage({
    name: 'events.alerts',
    subject: eventSubject('alert', 'batch'),
    payload: MeshEventBatch,
    stream: STREAMS.EVENTS,
    traced: false,
    description: 'alert.fired events ({alertId, ruleId, kind, severity, title}).',
  }),
} as const;

/**
 * Key revocations and rotations, announced by the gateway replica that made them (core NATS,
 * so it also lands on the EVENTS stream): every replica drops its cache of verified keys.
 */
export const ApiKeyEvents = {
  changed: defineMessage({
    name: 'events.api_keys',
    subject: eventSubject('apikey', 'batch'),
    payload: MeshEventBatch,
    stream: STREAMS.EVENTS,
    traced: false,
    description: 'apikey.revoked events ({keyId}).',
  }),
} as const;

/** NATS KV buckets of the gateway (namespaced like every bucket). */
export const GATEWAY_KV_BUCKETS = {
  /** Rate-limit windows shared by gateway replicas: key `<keyId>.<window index>` → request count. */
  RATE_LIMITS: 'swarm_gw_ratelimits',
  /** Leases of gateway singletons (the alert evaluator): key → {owner, expiresAt}. */
  LEASES: 'swarm_gw_leases',
} as const;
