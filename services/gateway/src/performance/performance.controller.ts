import { Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  AnalyzeReply,
  BaselinesDto,
  BottlenecksDto,
  PerformanceCommands,
  RecommendationDto,
  RecommendationPageDto,
  RegressionPageDto,
  SlaReportDto,
} from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { MESH_BUS } from '@swarm-mesh/service-kit';
import { CurrentPrincipal } from '../auth/auth.decorators';
import { actorOf, type Principal } from '../auth/principal';
import { API_PREFIX } from '../http/api-prefix';
import { memoryPage } from '../http/memory-page';
import { UUID_PARAM_SCHEMA, UuidParamPipe } from '../http/path-params';
import { ApiErrors, ApiKeyAuth, ApiOkBody, ApiPathParam, ApiQueryFrom } from '../openapi/api-docs.decorators';
import { BaselinesQuery, PerformanceWindowQuery, RecommendationsQuery, RegressionsQuery } from './performance.dto';

const RECOMMENDATION_ID = ApiPathParam('id', 'Recommendation id', UUID_PARAM_SCHEMA);

/**
 * What the performance optimizer learned from every execution: baselines, regressions (with
 * their statistical evidence), bottlenecks, SLA compliance, and recommendations that can be
 * applied and reverted (runtime flag `optimizer.auto_apply` applies timeouts and routing
 * weights automatically).
 */
@ApiTags('performance')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/performance`)
export class PerformanceController {
  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}

  @Get('baselines')
  @ApiOperation({
    summary: 'Baselines per capability × provider × agent',
    description: 'p50/p95/p99 run time and queue wait, success rate, cost and tokens per task over a sliding window (from rollups).',
  })
  @ApiQueryFrom(BaselinesQuery)
  @ApiOkBody(BaselinesDto, 'One baseline per group, by capability, provider, agent')
  @ApiErrors()
  async baselines(@Query() q: BaselinesQuery, @CurrentPrincipal() p: Principal): Promise<BaselinesDto> {
    const { limit, cursor, ...filter } = q;
    const all = await this.bus.request(PerformanceCommands.baselines, { ...filter, tenantId: p.tenantId });
    // U+0000 cannot occur in a stored string: the key is unique per group
    const page = memoryPage(all.items, (b) => `${b.capability}\u0000${b.provider ?? ''}\u0000${b.agentId ?? ''}`, { limit, cursor });
    return { ...all, ...page };
  }

  @Get('regressions')
  @ApiOperation({
    summary: 'Detected regressions, newest first',
    description:
      'Run time: one-sided Mann–Whitney U of the newest attempts against the baseline, with an effect-size gate. ' +
      'Success rate: one-sided two-proportion z test. Each carries its evidence (samples, medians, p-value, effect).',
  })
  @ApiQueryFrom(RegressionsQuery)
  @ApiOkBody(RegressionPageDto, 'A page of regressions')
  @ApiErrors()
  regressions(@Query() q: RegressionsQuery, @CurrentPrincipal() p: Principal): Promise<RegressionPageDto> {
    return this.bus.request(PerformanceCommands.regressions, { ...q, tenantId: p.tenantId });
  }

  @Get('bottlenecks')
  @ApiOperation({
    summary: 'Where the time goes',
    description:
      'Per capability and workflow: queue wait vs run time vs retries; saturated capabilities and pools; slow or failing agents.',
  })
  @ApiQueryFrom(PerformanceWindowQuery)
  @ApiOkBody(BottlenecksDto, 'Time breakdowns and findings, worst first')
  @ApiErrors()
  bottlenecks(@Query() q: PerformanceWindowQuery, @CurrentPrincipal() p: Principal): Promise<BottlenecksDto> {
    return this.bus.request(PerformanceCommands.bottlenecks, { ...q, tenantId: p.tenantId });
  }

  @Get('sla')
  @ApiOperation({
    summary: 'Deadline compliance',
    description: 'Per tenant, capability and workflow, for tasks that carried a deadline; the latest misses with where their time went.',
  })
  @ApiQueryFrom(PerformanceWindowQuery)
  @ApiOkBody(SlaReportDto, 'Compliance and explained misses')
  @ApiErrors()
  sla(@Query() q: PerformanceWindowQuery, @CurrentPrincipal() p: Principal): Promise<SlaReportDto> {
    return this.bus.request(PerformanceCommands.sla, { ...q, tenantId: p.tenantId });
  }

  @Get('recommendations')
  @ApiOperation({
    summary: 'Recommendations, newest first',
    description:
      'scale_up, shift_traffic, set_timeout, quarantine_agent — each with its evidence, expected effect and, once applied, before/after.',
  })
  @ApiQueryFrom(RecommendationsQuery)
  @ApiOkBody(RecommendationPageDto, 'A page of recommendations')
  @ApiErrors()
  recommendations(@Query() q: RecommendationsQuery, @CurrentPrincipal() p: Principal): Promise<RecommendationPageDto> {
    return this.bus.request(PerformanceCommands.recommendations, { ...q, tenantId: p.tenantId });
  }

  @Get('recommendations/:id')
  @ApiOperation({ summary: 'Read one recommendation' })
  @RECOMMENDATION_ID
  @ApiOkBody(RecommendationDto, 'The recommendation')
  @ApiErrors(404)
  recommendation(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<RecommendationDto> {
    return this.bus.request(PerformanceCommands.recommendation, { tenantId: p.tenantId, recommendationId: id });
  }

  @Post('recommendations/:id/apply')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Apply an open recommendation',
    description:
      'The change is recorded with what was in force before and after (timeouts and weights are published to the coordinator and allocator).',
  })
  @RECOMMENDATION_ID
  @ApiOkBody(RecommendationDto, 'The recommendation, applied')
  @ApiErrors(403, 404, 409)
  apply(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<RecommendationDto> {
    return this.bus.request(PerformanceCommands.apply, { tenantId: p.tenantId, recommendationId: id, actor: actorOf(p) });
  }

  @Post('recommendations/:id/revert')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revert an applied change', description: 'What was in force before it is in force again.' })
  @RECOMMENDATION_ID
  @ApiOkBody(RecommendationDto, 'The recommendation, reverted')
  @ApiErrors(403, 404, 409)
  revert(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<RecommendationDto> {
    return this.bus.request(PerformanceCommands.revert, { tenantId: p.tenantId, recommendationId: id, actor: actorOf(p) });
  }

  @Post('analyze')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Run one analysis cycle now',
    description: 'Regressions, learned timeouts, routing weights, saturation — what the optimizer otherwise does periodically.',
  })
  @ApiOkBody(AnalyzeReply, 'What the cycle found')
  @ApiErrors(403)
  analyze(@CurrentPrincipal() p: Principal): Promise<AnalyzeReply> {
    return this.bus.request(PerformanceCommands.analyze, { tenantId: p.tenantId });
  }
}
