import { Module } from '@nestjs/common';
import { SwarmMetricsService } from './swarm-metrics.service';
import { SwarmController } from './swarm.controller';

@Module({ controllers: [SwarmController], providers: [SwarmMetricsService] })
export class SwarmModule {}
