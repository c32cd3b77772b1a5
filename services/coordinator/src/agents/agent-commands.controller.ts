import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  AgentCommands,
  AgentControlRequest,
  type AgentDto,
  type AgentErrorsDto,
  type AgentPageDto,
  AgentProtocol,
  type AgentRegisterReply,
  AgentRegistration,
  type CheckpointReply,
  CheckpointRequest,
  GetAgentRequest,
  ListAgentsRequest,
  NotFoundError,
  STREAMS,
  ValidationError,
  InvalidCursorError,
} from '@swarm-mesh/contracts';
import { ensureConsumer, type MessageContext } from '@swarm-mesh/messaging';
import { HandleCommand } from '@swarm-mesh/service-kit';
import { agentState, toAgentDto } from '../engine/agent-record';
import { dispatchConsumerName } from '../engine/coordinator-engine';
import { EngineHost } from '../engine/engine.host';

/** The agent id a per-agent subject (`swarm.agent.<id>.<verb>`) names. */
function agentIdOf(ctx: MessageContext): string {
  const parts = ctx.subject.split('.');
  const i = parts.indexOf('agent');
  const id = i >= 0 ? parts[i + 1] : undefined;
  if (!id) throw new ValidationError(`subject ${ctx.subject} names no agent`);
  return id;
}

/** Agent registry (operators) and the agent protocol's request/reply half (SDK). */
@Controller()
export class AgentCommandsController {
  constructor(private readonly host: EngineHost) {}

  @HandleCommand(AgentProtocol.register)
  async register(@Payload() reg: AgentRegistration, @Ctx() ctx: MessageContext): Promise<AgentRegisterReply> {
    if (agentIdOf(ctx) !== reg.agentId) throw new ValidationError(`agentId ${reg.agentId} does not match the subject ${ctx.subject}`);
    await ensureConsumer(this.host.bus, {
      stream: STREAMS.DISPATCH,
      durable: dispatchConsumerName(reg.agentId),
      filterSubject: AgentProtocol.dispatch.subjectFor(reg.agentId),
      ackWaitMs: 30_000,
      maxAckPending: Math.max(100, reg.concurrency * 4),
      inactiveThresholdMs: 3_600_000,
    });
    return this.host.engine.register(reg);
  }

  @HandleCommand(AgentProtocol.checkpoint)
  async checkpoint(@Payload() req: CheckpointRequest, @Ctx() ctx: MessageContext): Promise<CheckpointReply> {
    await this.host.engine.checkpoint(agentIdOf(ctx), req);
    return { status: 'saved' };
  }

  @HandleCommand(AgentCommands.list)
  list(@Payload() req: ListAgentsRequest): AgentPageDto {
    const all = [...this.host.engine.agents.values()]
      .filter((a) => a.tenantId === req.tenantId)
      .filter((a) => !req.state || agentState(a) === req.state)
      .filter((a) => !req.capability || a.capabilities.includes(req.capability))
      .filter((a) => !req.domain || a.domain === req.domain)
      .sort((x, y) => x.id.localeCompare(y.id));
    let start = 0;
    if (req.cursor) {
      const after = Buffer.from(req.cursor, 'base64url').toString('utf8');
      if (!after) throw new InvalidCursorError(req.cursor);
      start = all.findIndex((a) => a.id > after);
      if (start < 0) start = all.length;
    }
    const limit = req.limit ?? 50;
    const items = all.slice(start, start + limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toAgentDto),
      nextCursor: start + limit < all.length && last ? Buffer.from(last.id).toString('base64url') : null,
    };
  }

  @HandleCommand(AgentCommands.get)
  get(@Payload() req: GetAgentRequest): AgentDto {
    const a = this.host.engine.agents.get(req.agentId);
    if (!a || a.tenantId !== req.tenantId) throw new NotFoundError('agent', req.agentId);
    return toAgentDto(a);
  }

  @HandleCommand(AgentCommands.errors)
  errors(@Payload() req: GetAgentRequest): AgentErrorsDto {
    const a = this.host.engine.agents.get(req.agentId);
    if (!a || a.tenantId !== req.tenantId) throw new NotFoundError('agent', req.agentId);
    return {
      items: this.host.engine.agentErrorLog(a.id, req.limit ?? 50).map((e) => ({
        taskId: e.taskId,
        capability: e.capability,
        attempt: e.attempt,
        outcome: e.outcome,
        error: e.error,
        at: new Date(e.at).toISOString(),
      })),
    };
  }

  @HandleCommand(AgentCommands.control)
  async control(@Payload() req: AgentControlRequest): Promise<AgentDto> {
    return toAgentDto(await this.host.engine.controlAgent(req.tenantId, req.agentId, req.action));
  }
}
