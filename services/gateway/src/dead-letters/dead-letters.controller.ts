import { Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { DeadLetterCommands, DeadLetterDto, DeadLetterPageDto, TaskDto } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { MESH_BUS } from '@swarm-mesh/service-kit';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { API_PREFIX } from '../http/api-prefix';
import { UUID_PARAM_SCHEMA, UuidParamPipe } from '../http/path-params';
import { ApiErrors, ApiKeyAuth, ApiOkBody, ApiPathParam, ApiQueryFrom } from '../openapi/api-docs.decorators';
import { ListDeadLettersQuery } from './dead-letters.dto';

const DEAD_LETTER_ID = ApiPathParam('id', 'Dead letter id', UUID_PARAM_SCHEMA);

/** The dead-letter queue: tasks that exhausted their attempts, with their error history; replay. */
@ApiTags('dead-letters')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/dead-letters`)
export class DeadLettersController {
  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}

  @Get()
  @ApiOperation({ summary: 'List dead letters, newest first' })
  @ApiQueryFrom(ListDeadLettersQuery)
  @ApiOkBody(DeadLetterPageDto, 'A page of dead letters')
  @ApiErrors()
  async list(@Query() q: ListDeadLettersQuery, @CurrentPrincipal() p: Principal): Promise<DeadLetterPageDto> {
    return this.bus.request(DeadLetterCommands.list, { ...q, tenantId: p.tenantId });
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read one dead letter' })
  @DEAD_LETTER_ID
  @ApiOkBody(DeadLetterDto, 'The dead letter')
  @ApiErrors(404)
  async get(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<DeadLetterDto> {
    return this.bus.request(DeadLetterCommands.get, { tenantId: p.tenantId, deadLetterId: id });
  }

  @Post(':id/replay')
  @HttpCode(200)
  @ApiOperation({ summary: 'Replay a dead letter', description: 'The task goes back to its queue with a fresh attempt budget.' })
  @DEAD_LETTER_ID
  @ApiOkBody(TaskDto, 'The task, queued again')
  @ApiErrors(403, 404, 409)
  async replay(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<TaskDto> {
    return this.bus.request(DeadLetterCommands.replay, { tenantId: p.tenantId, deadLetterId: id, actor: `api-key:${p.keyId}` });
  }
}
