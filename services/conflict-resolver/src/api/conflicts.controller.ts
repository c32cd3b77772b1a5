import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  type AllPoliciesRequest,
  type ConflictActionDto,
  ConflictCommands,
  type ConflictDto,
  type ConflictPageDto,
  type ConflictRequest,
  InvalidStateTransitionError,
  type ListConflictsRequest,
  type ListPoliciesRequest,
  type PolicyDto,
  type PolicyListDto,
  type ResolveConflictRequest,
  type SetPolicyRequest,
  ValidationError,
} from '@swarm-mesh/contracts';
import { HandleCommand } from '@swarm-mesh/service-kit';
import { ResolverHost } from '../resolver.host';

/** Conflicts (list, read, resolve by hand) and the allocation policies. */
@Controller()
export class ConflictsController {
  constructor(@Inject(ResolverHost) private readonly host: ResolverHost) {}

  @HandleCommand(ConflictCommands.list)
  list(@Payload() req: ListConflictsRequest): Promise<ConflictPageDto> {
    return this.host.store.list(req);
  }

  @HandleCommand(ConflictCommands.get)
  get(@Payload() req: ConflictRequest): Promise<ConflictDto> {
    return this.host.store.get(req.tenantId, req.conflictId);
  }

  @HandleCommand(ConflictCommands.resolve)
  async resolve(@Payload() req: ResolveConflictRequest): Promise<ConflictDto> {
    const c = await this.host.store.get(req.tenantId, req.conflictId);
    if (c.status !== 'open')
      throw new InvalidStateTransitionError(`conflict ${c.id} is already ${c.status}`, { conflictId: c.id, status: c.status });
    const r = req.resolution;
    const note = r.note ? ` (${r.note})` : '';
    const actions: ConflictActionDto[] = [];
    switch (r.action) {
      case 'preempt': {
        const named = Array.isArray(c.subject.victims)
          ? (c.subject.victims as unknown[]).filter((x): x is string => typeof x === 'string')
          : [];
        const ids = r.taskIds ?? named;
        if (ids.length === 0)
          throw new ValidationError('resolution: name the tasks to preempt (taskIds)', [
            { path: 'resolution.taskIds', message: 'no tasks to preempt', constraint: 'required' },
          ]);
        const done = await this.host.preempt(ids, `preempted by hand to resolve conflict ${c.id}${note}`);
        for (const id of ids) actions.push({ kind: done.includes(id) ? 'preempt' : 'preempt_skipped', taskId: id, detail: 'manual' });
        break;
      }
      case 'set_policy': {
        if (!r.policy || !c.poolId)
          throw new ValidationError('resolution: set_policy needs `policy` and a conflict on a pool', [
            { path: 'resolution.policy', message: 'policy is required', constraint: 'required' },
          ]);
        const current = this.host.policyOf(c.tenantId, c.poolId);
        const p = await this.host.store.setPolicy(c.tenantId, c.poolId, { ...current, kind: r.policy });
        this.host.announce(p);
        actions.push({ kind: 'set_policy', detail: `pool policy set to ${r.policy}${note}` });
        break;
      }
      case 'accept':
        actions.push({ kind: 'accept', detail: `accepted as is${note}` });
        break;
      case 'dismiss':
        actions.push({ kind: 'dismiss', detail: `dismissed${note}` });
        break;
    }
    await this.host.store.resolve(c.id, r.action === 'dismiss' ? 'dismissed' : 'resolved', 'manual', actions, req.resolvedBy);
    this.host.forgetOpen(c.id);
    return this.host.store.get(req.tenantId, c.id);
  }

  @HandleCommand(ConflictCommands.setPolicy)
  async setPolicy(@Payload() req: SetPolicyRequest): Promise<PolicyDto> {
    const p = await this.host.store.setPolicy(req.tenantId, req.poolId ?? null, req.policy);
    this.host.announce(p);
    return p;
  }

  @HandleCommand(ConflictCommands.listPolicies)
  async listPolicies(@Payload() req: ListPoliciesRequest): Promise<PolicyListDto> {
    const items = await this.host.store.policies(req.tenantId);
    return { items: req.poolId ? items.filter((p) => p.poolId === req.poolId) : items };
  }

  @HandleCommand(ConflictCommands.allPolicies)
  async allPolicies(@Payload() req: AllPoliciesRequest): Promise<PolicyListDto> {
    const items = await this.host.store.policies();
    const since = req.since ? Date.parse(req.since) : undefined;
    return { items: since === undefined ? items : items.filter((p) => Date.parse(p.updatedAt) > since) };
  }
}
