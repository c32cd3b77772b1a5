import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { type ServiceDefinition, toErrorResponse } from '@swarm-mesh/service-kit';
import { refuseKeylessWrites } from './auth/keyless-writes.hook';
import { GATEWAY_ENV } from './gateway.env';
import { GatewayModule } from './gateway.module';
import { installRequestTracing } from './http/request-trace';
import { GatewayInit1730000000000 } from './migrations/1730000000000-gateway-init';
import { GatewaySecurity1731000000000 } from './migrations/1731000000000-gateway-security';
import { GatewayAuditHotCompletion1732000000000 } from './migrations/1732000000000-gateway-audit-hot-completion';
import { openApiSchemas } from './openapi/validator-schemas';

export { GATEWAY_ENV } from './gateway.env';

/**
 * Errors Fastify answers itself, before any route or Nest filter runs (a path parameter over
 * maxParamLength → 414, a bad URL…), carry Fastify's `{statusCode, code: FST_…, error, message}`;
 * they leave as the contract's `{code, message, details}` like every other error.
 */
export function frameworkErrorBody(payload: unknown, statusCode: number): unknown {
  if (typeof payload !== 'string' || !payload.startsWith('{"') || payload.includes('"details"')) return payload;
  try {
    const body = JSON.parse(payload) as { statusCode?: unknown; code?: unknown; message?: unknown; details?: unknown };
    if (
      body.details !== undefined ||
      (typeof body.statusCode !== 'number' && !(typeof body.code === 'string' && body.code.startsWith('FST_')))
    )
      return payload;
    const { body: out } = toErrorResponse({ ...body, statusCode });
    return JSON.stringify(out);
  } catch {
    return payload;
  }
}

/** The gateway: REST API under /api/v1, OpenAPI at /api/docs, /metrics, dashboard at /. */
export const gatewayDefinition: ServiceDefinition<typeof GATEWAY_ENV> = {
  service: 'gateway',
  module: GatewayModule,
  entities: [],
  migrations: [GatewayInit1730000000000, GatewaySecurity1731000000000, GatewayAuditHotCompletion1732000000000],
  env: GATEWAY_ENV,
  bodyLimitBytes: (extra) => extra.GATEWAY_BODY_LIMIT_BYTES,
  fastifyOptions: {
    // a bad URL or an over-long path parameter is refused by the router before any route or filter
    frameworkErrors(error, _req, reply) {
      const { status, body } = toErrorResponse(error);
      const code = status >= 400 && status < 500 ? ((error as { statusCode?: number }).statusCode ?? status) : status;
      void (reply as unknown as { status(n: number): { send(b: unknown): unknown } }).status(code).send(body);
    },
  },
  configureApp(app) {
    const fastify = app.getHttpAdapter().getInstance();
    installRequestTracing(fastify);
    refuseKeylessWrites(fastify);
    fastify.addHook('onSend', async (_req, reply, payload) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('cross-origin-opener-policy', 'same-origin');
      reply.header('cross-origin-resource-policy', 'same-origin');
      return reply.statusCode >= 400 ? frameworkErrorBody(payload, reply.statusCode) : payload;
    });
    const doc = new DocumentBuilder()
      .setTitle('Swarm Mesh API')
      .setDescription(
        'Control plane for AI agent swarms. Authenticate with `Authorization: Bearer <key>` or `x-api-key: <key>`. ' +
          'Errors are {code, message, details}; lists are {items, nextCursor}. Every response carries `x-trace-id`.',
      )
      .setVersion('0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key' }, 'bearer')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key' }, 'x-api-key')
      .build();
    const document = SwaggerModule.createDocument(app, doc);
    // component schemas generated from the contract DTOs' validators (see openapi/validator-schemas.ts)
    document.components = { ...document.components, schemas: { ...document.components?.schemas, ...openApiSchemas.all() } };
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json', useGlobalPrefix: false });
  },
};
