import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { ComponentHealth, HEALTH_STATUSES, SERVICE_NAMES } from '@swarm-mesh/contracts';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { API_PREFIX } from '../http/api-prefix';
import { openApiSchemas } from '../openapi/validator-schemas';
import { MeshHealthService } from './mesh-health.service';

const COMPONENT = openApiSchemas.ref(ComponentHealth);
const STATUS = { type: 'string', enum: [...HEALTH_STATUSES] };
const SERVICE_ENTRY = openApiSchemas.define('ServiceHealthEntry', {
  type: 'object',
  required: ['status'],
  properties: {
    status: STATUS,
    instanceId: { type: 'string' },
    version: { type: 'string' },
    uptimeMs: { type: 'integer' },
    latencyMs: { type: 'number' },
    error: { type: 'string' },
    checks: { type: 'object', properties: { postgres: COMPONENT, nats: COMPONENT } },
  },
});
/** `MeshHealthReport` (mesh-health.service.ts). */
const REPORT = openApiSchemas.define('MeshHealthReport', {
  type: 'object',
  required: ['status', 'services', 'nats', 'postgres', 'checkedAt'],
  properties: {
    status: STATUS,
    services: {
      type: 'object',
      required: [...SERVICE_NAMES],
      properties: Object.fromEntries(SERVICE_NAMES.map((s) => [s, SERVICE_ENTRY])),
    },
    nats: COMPONENT,
    postgres: COMPONENT,
    checkedAt: { type: 'string', format: 'date-time' },
  },
});

@ApiTags('health')
@Public()
@Controller(`${API_PREFIX}/health`)
export class HealthController {
  constructor(private readonly meshHealth: MeshHealthService) {}

  @Get()
  @ApiOperation({ summary: 'Health of every service, NATS and Postgres (asks each service over NATS)', description: 'Needs no API key.' })
  @ApiOkResponse({ description: 'All components ok', schema: REPORT })
  @ApiServiceUnavailableResponse({ description: 'At least one component degraded or down', schema: REPORT })
  async get(@Res() reply: FastifyReply): Promise<void> {
    const report = await this.meshHealth.report();
    await reply.status(report.status === 'ok' ? 200 : 503).send(report);
  }
}
