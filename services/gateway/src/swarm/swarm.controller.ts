import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { API_PREFIX } from '../http/api-prefix';
import { ApiErrors, ApiKeyAuth, ApiOkBody, ApiQueryFrom } from '../openapi/api-docs.decorators';
import { SwarmMetricsService } from './swarm-metrics.service';
import { SwarmMetricsDto, SwarmMetricsQuery } from './swarm.dto';

/** The swarm at a glance. */
@ApiTags('swarm')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/swarm`)
export class SwarmController {
  constructor(private readonly metrics: SwarmMetricsService) {}

  @Get('metrics')
  @ApiOperation({
    summary: 'Real-time overview: throughput, latency, success, queue depths, agents by state',
    description:
      'Throughput, end-to-end latency and success over the last window come from the performance optimizer; queue depths and ' +
      'agents by state from the coordinator. Cached about one second per tenant; a part whose service did not answer is null.',
  })
  @ApiQueryFrom(SwarmMetricsQuery)
  @ApiOkBody(SwarmMetricsDto, 'The overview')
  @ApiErrors()
  get(@Query() q: SwarmMetricsQuery, @CurrentPrincipal() p: Principal): Promise<SwarmMetricsDto> {
    return this.metrics.get(p.tenantId, q.windowMs);
  }
}
