import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  type AnalyzeReply,
  type AnalyzeRequest,
  type BaselinesDto,
  type BaselinesRequest,
  type BottlenecksDto,
  type PerformanceOverviewDto,
  PerformanceCommands,
  type PerformanceWindowRequest,
  type RecommendationActionRequest,
  type RecommendationDto,
  type RecommendationPageDto,
  type RecommendationsRequest,
  type RegressionPageDto,
  type RegressionsRequest,
  type SlaReportDto,
} from '@swarm-mesh/contracts';
import { HandleCommand } from '@swarm-mesh/service-kit';
import { Analyzer } from '../analysis/analyzer';
import { OptimizerRuntime } from '../optimizer.runtime';
import { RecommendationService } from '../recommendations/recommendation.service';
import { ReportsService } from '../reports/reports.service';

/** `swarm.cmd.performance-optimizer.perf.*` */
@Controller()
export class PerformanceCommandsController {
  constructor(
    private readonly rt: OptimizerRuntime,
    private readonly reports: ReportsService,
    private readonly recs: RecommendationService,
    private readonly analyzer: Analyzer,
  ) {}

  @HandleCommand(PerformanceCommands.baselines)
  baselines(@Payload() req: BaselinesRequest): Promise<BaselinesDto> {
    const { tenantId, ...f } = req;
    return this.reports.baselines(tenantId, f);
  }

  @HandleCommand(PerformanceCommands.regressions)
  regressions(@Payload() req: RegressionsRequest): Promise<RegressionPageDto> {
    const { tenantId, ...f } = req;
    return this.rt.regressions.list(tenantId, f);
  }

  @HandleCommand(PerformanceCommands.bottlenecks)
  bottlenecks(@Payload() req: PerformanceWindowRequest): Promise<BottlenecksDto> {
    return this.reports.bottlenecks(req.tenantId, req.windowMs, req.capability);
  }

  @HandleCommand(PerformanceCommands.sla)
  sla(@Payload() req: PerformanceWindowRequest): Promise<SlaReportDto> {
    return this.reports.sla(req.tenantId, req.windowMs, req.capability);
  }

  @HandleCommand(PerformanceCommands.overview)
  overview(@Payload() req: PerformanceWindowRequest): PerformanceOverviewDto {
    return this.reports.overview(req.tenantId, req.windowMs, req.capability);
  }

  @HandleCommand(PerformanceCommands.recommendations)
  recommendations(@Payload() req: RecommendationsRequest): Promise<RecommendationPageDto> {
    const { tenantId, ...f } = req;
    return this.rt.recommendations.list(tenantId, f);
  }

  @HandleCommand(PerformanceCommands.recommendation)
  recommendation(@Payload() req: RecommendationActionRequest): Promise<RecommendationDto> {
    return this.recs.get(req.tenantId, req.recommendationId);
  }

  @HandleCommand(PerformanceCommands.apply)
  apply(@Payload() req: RecommendationActionRequest): Promise<RecommendationDto> {
    return this.recs.apply(req.tenantId, req.recommendationId, req.actor ?? 'unknown');
  }

  @HandleCommand(PerformanceCommands.revert)
  revert(@Payload() req: RecommendationActionRequest): Promise<RecommendationDto> {
    return this.recs.revert(req.tenantId, req.recommendationId, req.actor ?? 'unknown');
  }

  @HandleCommand(PerformanceCommands.analyze)
  analyze(@Payload() req: AnalyzeRequest): Promise<AnalyzeReply> {
    return this.analyzer.analyzeNow(req.tenantId);
  }
}
