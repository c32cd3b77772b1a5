import { Module } from '@nestjs/common';
import { Analyzer } from './analysis/analyzer';
import { PerformanceCommandsController } from './commands/performance-commands.controller';
import { IngestHost } from './ingest/ingest.host';
import { OptimizerRuntime } from './optimizer.runtime';
import { RecommendationService } from './recommendations/recommendation.service';
import { ReportsService } from './reports/reports.service';
import { RetentionService } from './retention/retention.service';

/** Root feature module of the performance-optimizer. */
@Module({
  controllers: [PerformanceCommandsController],
  providers: [OptimizerRuntime, IngestHost, RecommendationService, Analyzer, ReportsService, RetentionService],
})
export class PerformanceOptimizerModule {}
