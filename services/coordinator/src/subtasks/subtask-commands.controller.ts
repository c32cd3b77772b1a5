import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  AgentProtocol,
  type AwaitChildrenReply,
  AwaitChildrenRequest,
  type ChildOutcomeDto,
  NotFoundError,
  type SpawnReply,
  SpawnRequest,
  ValidationError,
} from '@swarm-mesh/contracts';
import type { MessageContext } from '@swarm-mesh/messaging';
import { HandleCommand } from '@swarm-mesh/service-kit';
import { EngineHost } from '../engine/engine.host';
import { toApprovalDto } from '../engine/task-record';

/** Ended states of an awaited child (needs_review still waits for a human). */
const DONE = new Set(['succeeded', 'failed', 'cancelled', 'dead_lettered', 'timed_out']);
/** Results in one await reply stop here (a NATS message is 1 MiB by default); the rest are fetched again. */
const RESULT_BUDGET_BYTES = 600 * 1024;

function agentIdOf(ctx: MessageContext): string {
  const parts = ctx.subject.split('.');
  const i = parts.indexOf('agent');
  const id = i >= 0 ? parts[i + 1] : undefined;
  if (!id) throw new ValidationError(`subject ${ctx.subject} names no agent`);
  return id;
}

/**
 * Subtasks (the agent protocol's spawn and children commands): a running attempt spawns
 * children (fenced by its lease epoch) and long-polls for them. A poll is answered as soon as a
 * child it waits for ends (the engine wakes it after the commit), never by busy polling.
 */
@Controller()
export class SubtaskCommandsController {
  constructor(private readonly host: EngineHost) {}

  @HandleCommand(AgentProtocol.spawn)
  async spawn(@Payload() req: SpawnRequest, @Ctx() ctx: MessageContext): Promise<SpawnReply> {
    return { children: await this.host.engine.spawn(agentIdOf(ctx), req) };
  }

  @HandleCommand(AgentProtocol.children)
  async children(@Payload() req: AwaitChildrenRequest, @Ctx() ctx: MessageContext): Promise<AwaitChildrenReply> {
    const engine = this.host.engine;
    const agentId = agentIdOf(ctx);
    const ids = [...new Set(req.childIds)];
    const deadline = Date.now() + req.waitMs;
    for (;;) {
      const tenantId = engine.touchParentAttempt(agentId, req.taskId, req.epoch);
      // registered before the read: a child ending in between still wakes us
      const waiter = engine.childWaiter(req.taskId);
      try {
        const rows = await engine.workflowStore.children(tenantId, req.taskId, ids);
        if (rows.length !== ids.length) {
          const found = new Set(rows.map((r) => r.id));
          const missing = ids.find((id) => !found.has(id))!;
          throw new NotFoundError('task', missing);
        }
        const ended = rows.filter((r) => DONE.has(r.state)).length;
        const done = req.mode === 'all' ? ended === rows.length : ended > 0;
        const remaining = deadline - Date.now();
        if (done || remaining <= 0 || engine.isStopped) {
          let budget = RESULT_BUDGET_BYTES;
          const byId = new Map(rows.map((r) => [r.id, r]));
          const children: ChildOutcomeDto[] = ids.map((id) => {
            const r = byId.get(id)!;
            const out: ChildOutcomeDto = {
              id: r.id,
              key: r.spawnKey,
              capability: r.capability,
              state: r.state,
              error: r.error,
              approval: r.review ? toApprovalDto(r.review) : null,
            };
            if (r.result !== null && DONE.has(r.state)) {
              const size = Buffer.byteLength(JSON.stringify(r.result));
              if (size <= budget) {
                out.result = r.result;
                budget -= size;
              } else {
                out.resultOmitted = true;
              }
            }
            return out;
          });
          return { children, done };
        }
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          waiter.promise,
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, remaining);
          }),
        ]);
        if (timer) clearTimeout(timer);
      } finally {
        waiter.cancel();
      }
    }
  }
}
