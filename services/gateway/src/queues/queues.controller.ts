import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { QueueCommands, QueueDepthsDto } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { MESH_BUS } from '@swarm-mesh/service-kit';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { API_PREFIX } from '../http/api-prefix';
import { MemoryPageQuery, memoryPage } from '../http/memory-page';
import { ApiErrors, ApiKeyAuth, ApiOkBody, ApiQueryFrom } from '../openapi/api-docs.decorators';

/** Queue depths by capability and priority. */
@ApiTags('queues')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/queues`)
export class QueuesController {
  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}

  @Get()
  @ApiOperation({ summary: 'Queue depth of every capability', description: 'Queued by priority, dispatched, running, free slots.' })
  @ApiQueryFrom(MemoryPageQuery)
  @ApiOkBody(QueueDepthsDto, 'One entry per capability, by capability name')
  @ApiErrors()
  async depths(@Query() q: MemoryPageQuery, @CurrentPrincipal() p: Principal): Promise<QueueDepthsDto> {
    const all = await this.bus.request(QueueCommands.depths, { tenantId: p.tenantId });
    return memoryPage(all.items, (d) => d.capability, q);
  }
}
