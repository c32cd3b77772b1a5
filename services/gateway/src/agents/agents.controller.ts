import { Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { type AgentAction, AgentCommands, AgentDto, AgentErrorsDto, AgentPageDto } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { MESH_BUS } from '@swarm-mesh/service-kit';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { API_PREFIX } from '../http/api-prefix';
import { memoryPage } from '../http/memory-page';
import { AGENT_ID_PARAM_SCHEMA, AgentIdParamPipe } from '../http/path-params';
import { ApiErrors, ApiKeyAuth, ApiOkBody, ApiPathParam, ApiQueryFrom } from '../openapi/api-docs.decorators';
import { AgentErrorsQuery, AgentHealthDto, ListAgentsQuery } from './agents.dto';

const AGENT_ID = ApiPathParam('id', 'Agent id', AGENT_ID_PARAM_SCHEMA);

/** The agent registry: list, inspect, drain, resume, restart. */
@ApiTags('agents')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/agents`)
export class AgentsController {
  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}

  @Get()
  @ApiOperation({ summary: 'List agents' })
  @ApiQueryFrom(ListAgentsQuery)
  @ApiOkBody(AgentPageDto, 'A page of agents')
  @ApiErrors()
  async list(@Query() q: ListAgentsQuery, @CurrentPrincipal() p: Principal): Promise<AgentPageDto> {
    return this.bus.request(AgentCommands.list, { ...q, tenantId: p.tenantId });
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read one agent' })
  @AGENT_ID
  @ApiOkBody(AgentDto, 'The agent')
  @ApiErrors(404)
  async get(@Param('id', AgentIdParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<AgentDto> {
    return this.bus.request(AgentCommands.get, { tenantId: p.tenantId, agentId: id });
  }

  @Get(':id/health')
  @ApiOperation({ summary: 'Health of one agent', description: 'State, last heartbeat, load, counters and circuit breaker.' })
  @AGENT_ID
  @ApiOkBody(AgentHealthDto, 'The agent’s health')
  @ApiErrors(404)
  async health(@Param('id', AgentIdParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<AgentHealthDto> {
    const a = await this.bus.request(AgentCommands.get, { tenantId: p.tenantId, agentId: id });
    return { id: a.id, state: a.state, lastHeartbeatAt: a.lastHeartbeatAt ?? null, load: a.load, stats: a.stats, breaker: a.breaker };
  }

  @Get(':id/errors')
  @ApiOperation({ summary: 'Recent failed attempts on an agent, newest first' })
  @AGENT_ID
  @ApiQueryFrom(AgentErrorsQuery)
  @ApiOkBody(AgentErrorsDto, 'The agent’s error log')
  @ApiErrors(404)
  async errors(
    @Param('id', AgentIdParamPipe) id: string,
    @Query() q: AgentErrorsQuery,
    @CurrentPrincipal() p: Principal,
  ): Promise<AgentErrorsDto> {
    // the coordinator keeps the last 100 per agent: fetch them all, page here (newest first)
    const all = await this.bus.request(AgentCommands.errors, { tenantId: p.tenantId, agentId: id, limit: 500 });
    return memoryPage(all.items, (e) => `${e.at} ${e.taskId} ${String(e.attempt).padStart(6, '0')}`, q, {
      descending: true,
      defaultLimit: 50,
    });
  }

  @Post(':id/drain')
  @HttpCode(200)
  @ApiOperation({ summary: 'Drain an agent', description: 'It takes no new work and finishes what it runs.' })
  @AGENT_ID
  @ApiOkBody(AgentDto, 'The agent')
  @ApiErrors(403, 404, 409)
  async drain(@Param('id', AgentIdParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<AgentDto> {
    return this.control(id, 'drain', p);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a drained agent' })
  @AGENT_ID
  @ApiOkBody(AgentDto, 'The agent')
  @ApiErrors(403, 404, 409)
  async resume(@Param('id', AgentIdParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<AgentDto> {
    return this.control(id, 'resume', p);
  }

  @Post(':id/restart')
  @HttpCode(200)
  @ApiOperation({ summary: 'Restart an agent', description: 'Drain, then re-initialise with a new instance id.' })
  @AGENT_ID
  @ApiOkBody(AgentDto, 'The agent')
  @ApiErrors(403, 404, 409)
  async restart(@Param('id', AgentIdParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<AgentDto> {
    return this.control(id, 'restart', p);
  }

  private control(agentId: string, action: AgentAction, p: Principal): Promise<AgentDto> {
    return this.bus.request(AgentCommands.control, { tenantId: p.tenantId, agentId, action });
  }
}
