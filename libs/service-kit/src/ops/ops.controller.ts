import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { HealthService } from './health.service';
import type { MetricsRegistry } from './metrics.registry';
import { HEALTH, METRICS } from './tokens';

/** `/health` (this process only: Postgres and NATS) and `/metrics` (Prometheus) on every service. */
@ApiExcludeController()
@Controller()
export class OpsController {
  constructor(
    @Inject(HEALTH) private readonly health: HealthService,
    @Inject(METRICS) private readonly metrics: MetricsRegistry,
  ) {}

  @Get('health')
  async getHealth(@Res() reply: FastifyReply): Promise<void> {
    const h = await this.health.check(true, 1000);
    await reply.status(h.status === 'ok' ? 200 : 503).send(h);
  }

  /** Liveness: the event loop answers. Never touches dependencies (a Postgres outage must not restart pods). */
  @Get('health/live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('metrics')
  async getMetrics(@Res() reply: FastifyReply): Promise<void> {
    const body = await this.metrics.registry.metrics();
    await reply.header('content-type', this.metrics.registry.contentType).send(body);
  }
}
