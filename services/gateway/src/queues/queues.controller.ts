import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { QueueCommands, QueueDepthsDto } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { MESH_BUS } from '@swarm-mesh/service-kit';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { API_PREFIX } from '../http/api-prefix';
import { ApiErrors, ApiKeyAuth, ApiOkBody } from '../openapi/api-docs.decorators';

/** Queue depths by capability and priority. */
@ApiTags('queues')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/queues`)
export class QueuesController {
  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}

  @Get()
  @ApiOperation({ summary: 'Queue depth of every capability', description: 'Queued by priority, dispatched, running, free slots.' })
  @ApiOkBody(QueueDepthsDto, 'One entry per capability')
  @ApiErrors()
  async depths(@CurrentPrincipal() p: Principal): Promise<QueueDepthsDto> {
    return this.bus.request(QueueCommands.depths, { tenantId: p.tenantId });
  }
}
