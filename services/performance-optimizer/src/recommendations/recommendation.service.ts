import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  AgentCommands,
  Channels,
  InvalidStateTransitionError,
  NotFoundError,
  type RecommendationDto,
  type RecommendationKind,
} from '@swarm-mesh/contracts';
import { OptimizerRuntime } from '../optimizer.runtime';
import { type NewRecommendation, recommendationDto, type RecommendationRow } from '../store/recommendation.store';
import type { TuningKind } from '../tuning/tuning.store';

/** What the analysis proposes for one target. */
export interface Proposal extends Omit<NewRecommendation, 'id' | 'tenantId'> {
  /** True when an open recommendation's proposal is close enough to keep (refresh) instead of replacing it. */
  similar(existing: Record<string, unknown>): boolean;
}

export type ProposeOutcome = 'applied' | 'created' | 'refreshed' | 'cooling_down';

/** The tuning kind a recommendation kind puts in force, if any (its `proposal` is the value). */
export function tuningKindOf(kind: RecommendationKind): TuningKind | null {
  return kind === 'set_timeout' ? 'timeout' : kind === 'shift_traffic' ? 'routing' : null;
}

/** The optimizer itself, as the actor of automatic changes. */
export const AUTO_ACTOR = 'performance-optimizer';

/**
 * Recommendations and the changes they make. Timeouts and routing weights change
 * `performance.tuning` (published to NATS KV); scale-ups are signalled on
 * `swarm.infra.scaling`; quarantines drain the agent through the coordinator. Every applied
 * change is recorded with what was in force before and after, and can be reverted.
 */
@Injectable()
export class RecommendationService {
  constructor(private readonly rt: OptimizerRuntime) {}

  /**
   * Records a proposal: applies it at once when `autoApply` (tuning kinds only), else keeps one
   * open recommendation per target (refreshed while similar, replaced when it changes). Nothing
   * is proposed for a target reverted within the cool-down.
   */
  async propose(tenantId: string, p: Proposal, autoApply: boolean): Promise<ProposeOutcome> {
    const { recommendations: recs } = this.rt;
    const reverted = await recs.lastRevertedAt(tenantId, p.target);
    if (reverted && Date.now() - reverted.getTime() < this.rt.options.revertCooldownMs) return 'cooling_down';
    const open = await recs.openFor(tenantId, p.target);
    if (autoApply && tuningKindOf(p.kind) !== null) {
      const id = randomUUID();
      await this.rt.ds.transaction(async (em) => {
        if (open) await recs.setStatus(em, open.id, 'open', 'superseded');
        await recs.insert(em, { ...p, id, tenantId }, 'open');
      });
      await this.apply(tenantId, id, AUTO_ACTOR, true);
      return 'applied';
    }
    if (open && open.kind === p.kind && p.similar(open.proposal)) {
      await recs.refresh(open.id, p);
      return 'refreshed';
    }
    const id = randomUUID();
    await this.rt.ds.transaction(async (em) => {
      if (open) await recs.setStatus(em, open.id, 'open', 'superseded');
      await recs.insert(em, { ...p, id, tenantId });
    });
    this.rt.facts.emit(tenantId, 'performance.recommendation_created', {
      recommendationId: id,
      kind: p.kind,
      capability: p.capability,
      summary: p.summary,
    });
    return 'created';
  }

  async get(tenantId: string, id: string): Promise<RecommendationDto> {
    const row = await this.rt.recommendations.get(tenantId, id);
    if (!row) throw new NotFoundError('recommendation', id);
    return recommendationDto(row);
  }

  /** Applies an open recommendation. */
  async apply(tenantId: string, id: string, actor: string, auto = false): Promise<RecommendationDto> {
    const { recommendations: recs, tuning } = this.rt;
    const row = await recs.get(tenantId, id);
    if (!row) throw new NotFoundError('recommendation', id);
    if (row.status !== 'open')
      throw new InvalidStateTransitionError(`recommendation ${id} is ${row.status}; only an open one can be applied`, {
        recommendationId: id,
        status: row.status,
      });
    const kind = tuningKindOf(row.kind);
    if (kind !== null) {
      await this.rt.ds.transaction(async (em) => {
        const locked = await recs.get(tenantId, id, em, true);
        if (locked?.status !== 'open')
          throw new InvalidStateTransitionError(`recommendation ${id} is no longer open`, { recommendationId: id });
        const current = await tuning.get(tenantId, kind, row.capability, em);
        await tuning.set(em, tenantId, kind, row.capability, row.proposal, id);
        await recs.supersedeApplied(em, tenantId, row.target, id);
        await recs.markApplied(em, id, actor, auto, current?.value ?? null, row.proposal);
      });
      await tuning.publish(tenantId, kind);
    } else if (row.kind === 'scale_up') {
      const p = row.proposal as { addAgents?: number; currentAgents?: number; targetAgents?: number };
      this.rt.bus.publish(Channels.infra.scaling, {
        topic: 'scale_up',
        correlationId: id,
        data: { tenantId, capability: row.capability, addAgents: p.addAgents, fromAgents: p.currentAgents, toAgents: p.targetAgents },
      });
      await this.rt.ds.transaction((em) =>
        recs.markApplied(em, id, actor, auto, { agents: p.currentAgents ?? null }, { agents: p.targetAgents ?? null }),
      );
    } else {
      const agentId = row.agent_id!;
      const before = await this.rt.bus.request(AgentCommands.get, { tenantId, agentId });
      await this.rt.bus.request(AgentCommands.control, { tenantId, agentId, action: 'drain' });
      await this.rt.ds.transaction((em) => recs.markApplied(em, id, actor, auto, { state: before.state }, { state: 'draining' }));
    }
    const done = await this.get(tenantId, id);
    this.rt.facts.emit(tenantId, 'performance.change_applied', {
      recommendationId: id,
      kind: row.kind,
      capability: row.capability,
      auto,
      before: done.applied?.before ?? null,
      after: done.applied?.after ?? null,
    });
    return done;
  }

  /** Undoes an applied change: what was in force before it is in force again. */
  async revert(tenantId: string, id: string, actor: string): Promise<RecommendationDto> {
    const { recommendations: recs, tuning } = this.rt;
    const row = await recs.get(tenantId, id);
    if (!row) throw new NotFoundError('recommendation', id);
    if (row.status !== 'applied')
      throw new InvalidStateTransitionError(`recommendation ${id} is ${row.status}; only the applied change in force can be reverted`, {
        recommendationId: id,
        status: row.status,
      });
    const kind = tuningKindOf(row.kind);
    if (kind !== null) {
      await this.rt.ds.transaction(async (em) => {
        const locked = await recs.get(tenantId, id, em, true);
        if (locked?.status !== 'applied')
          throw new InvalidStateTransitionError(`recommendation ${id} is no longer applied`, { recommendationId: id });
        const current = await tuning.get(tenantId, kind, row.capability, em);
        if (current && current.recommendationId !== id)
          throw new InvalidStateTransitionError(
            `a newer change (${current.recommendationId}) is in force for ${row.target}; revert that one`,
            {
              recommendationId: id,
              inForce: current.recommendationId,
            },
          );
        const restored = row.before;
        // the change this one replaced is in force again
        const previous = await em.query<RecommendationRow[]>(
          `SELECT * FROM performance.recommendations
            WHERE tenant_id = $1 AND target = $2 AND status = 'superseded' AND applied_at IS NOT NULL AND id <> $3
            ORDER BY applied_at DESC LIMIT 1`,
          [tenantId, row.target, id],
        );
        const prev =
          previous[0] && restored !== null && JSON.stringify(previous[0].after) === JSON.stringify(restored) ? previous[0] : null;
        await tuning.set(em, tenantId, kind, row.capability, restored, prev?.id ?? null);
        if (prev) await recs.setStatus(em, prev.id, 'superseded', 'applied');
        await recs.markReverted(em, id, actor, restored);
      });
      await tuning.publish(tenantId, kind);
    } else if (row.kind === 'scale_up') {
      const before = row.before as { agents?: number | null } | null;
      this.rt.bus.publish(Channels.infra.scaling, {
        topic: 'scale_revert',
        correlationId: id,
        data: { tenantId, capability: row.capability, toAgents: before?.agents ?? null },
      });
      await this.rt.ds.transaction((em) => recs.markReverted(em, id, actor, row.before));
    } else {
      await this.rt.bus.request(AgentCommands.control, { tenantId, agentId: row.agent_id!, action: 'resume' });
      await this.rt.ds.transaction((em) => recs.markReverted(em, id, actor, row.before));
    }
    const done = await this.get(tenantId, id);
    this.rt.facts.emit(tenantId, 'performance.change_reverted', {
      recommendationId: id,
      kind: row.kind,
      capability: row.capability,
      restored: done.reverted?.restored ?? null,
    });
    return done;
  }
}
