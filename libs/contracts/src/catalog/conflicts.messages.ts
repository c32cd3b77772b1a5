import { defineCommand, defineMessage } from '../definitions/definitions';
import {
  AllPoliciesRequest,
  ConflictDto,
  ConflictPageDto,
  ConflictRequest,
  ListConflictsRequest,
  ListPoliciesRequest,
  PolicyDto,
  PolicyListDto,
  ResolveConflictRequest,
  SetPolicyRequest,
} from '../dto/conflicts.dto';
import { MeshEventBatch } from '../dto/event.dto';
import { eventSubject, STREAMS } from '../subjects/subjects';

const CR = 'conflict-resolver' as const;

/** Conflict resolver commands (`swarm.cmd.conflict-resolver.*`). */
export const ConflictCommands = {
  list: defineCommand({
    service: CR,
    command: 'conflicts.list',
    request: ListConflictsRequest,
    reply: ConflictPageDto,
    description: 'List conflicts.',
  }),
  get: defineCommand({
    service: CR,
    command: 'conflicts.get',
    request: ConflictRequest,
    reply: ConflictDto,
    description: 'Read one conflict.',
  }),
  resolve: defineCommand({
    service: CR,
    command: 'conflicts.resolve',
    request: ResolveConflictRequest,
    reply: ConflictDto,
    timeoutMs: 10_000,
    description: 'Resolve a conflict by hand (preempt, switch policy, accept, dismiss).',
  }),
  setPolicy: defineCommand({
    service: CR,
    command: 'policies.set',
    request: SetPolicyRequest,
    reply: PolicyDto,
    description: 'Set a pool’s (or the tenant’s default) policy.',
  }),
  listPolicies: defineCommand({
    service: CR,
    command: 'policies.list',
    request: ListPoliciesRequest,
    reply: PolicyListDto,
    description: 'The tenant’s policies.',
  }),
  allPolicies: defineCommand({
    service: CR,
    command: 'policies.all',
    request: AllPoliciesRequest,
    reply: PolicyListDto,
    description: 'Every tenant’s policies (the allocator caches them).',
  }),
} as const;

/** Facts the resolver publishes (core NATS). */
export const ConflictMessages = {
  policiesChanged: defineMessage({
    name: 'conflicts.policies_changed',
    subject: eventSubject('policy', 'changed'),
    payload: PolicyListDto,
    traced: false,
    description: 'Policies that changed (the allocator applies them at once).',
  }),
} as const;

/**
 * Conflict facts on the EVENTS stream, after the change they report is committed (the live
 * stream and the dashboard follow them): `conflict.detected` (data: conflictId, kind, poolId,
 * status — `open`, or `resolved`/`dismissed` when a policy settled it at once) and
 * `conflict.resolved` / `conflict.dismissed` (data: conflictId, kind, poolId, policy, resolvedBy).
 */
export const ConflictEventMessages = {
  facts: defineMessage({
    name: 'events.conflicts',
    subject: eventSubject('conflict', 'batch'),
    payload: MeshEventBatch,
    stream: STREAMS.EVENTS,
    maxPayloadBytes: 1024 * 1024,
    traced: true,
    description: 'Conflict facts: detected, resolved, dismissed.',
  }),
} as const;
