import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiParam, ApiQuery, ApiResponse, ApiSecurity } from '@nestjs/swagger';
import { ERROR_CODES } from '@swarm-mesh/contracts';
import { TakesQuery } from '../http/query-guard';
import { openApiSchemas, type RefOptions } from './validator-schemas';

type Ctor = abstract new (...args: never[]) => object;

/** `{code, message, details}` (CONTRACT.md). */
const ERROR_REF = openApiSchemas.define('Error', {
  type: 'object',
  required: ['code', 'message', 'details'],
  properties: {
    code: { type: 'string', enum: Object.keys(ERROR_CODES), description: 'Stable UPPER_SNAKE error code' },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true, description: 'e.g. violations[] for VALIDATION_FAILED' },
  },
});

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'MALFORMED_JSON or VALIDATION_FAILED (details.violations lists each field) or INVALID_CURSOR',
  401: 'UNAUTHENTICATED: no valid API key',
  403: 'FORBIDDEN: the key’s role does not allow this operation (viewer keys are read-only)',
  404: 'TASK_NOT_FOUND / AGENT_NOT_FOUND / DEAD_LETTER_NOT_FOUND (also for another tenant’s resources)',
  409: 'DUPLICATE_IDEMPOTENCY_KEY (details.existingTaskId) or INVALID_STATE_TRANSITION',
  413: 'PAYLOAD_TOO_LARGE: body over the gateway limit or a task input over 256 KiB of JSON',
  422: 'UNKNOWN_CAPABILITY: no agent ever registered the capability',
  503: 'SERVICE_UNAVAILABLE (coordinator not answering), DATABASE_UNAVAILABLE or OVERLOADED: retry with backoff',
  504: 'TIMEOUT: the coordinator did not answer in time',
};

/** Error responses of a route (the common ones — 400, 401, 503, 504 — are always added). */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  const all = [...new Set([400, 401, ...statuses, 503, 504])].sort((a, b) => a - b);
  return applyDecorators(
    ...all.map((status) => ApiResponse({ status, description: ERROR_DESCRIPTIONS[status] ?? 'Error', schema: ERROR_REF })),
  );
}

/** One error response with a route-specific description (instead of the generic one of ApiErrors). */
export function ApiErrorResponse(status: number, description: string): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, schema: ERROR_REF });
}

/** Both ways of presenting an API key (either one). */
export function ApiKeyAuth(): MethodDecorator & ClassDecorator {
  return applyDecorators(ApiBearerAuth('bearer'), ApiSecurity('x-api-key'));
}

/** A 200 response whose body is the DTO class (schema generated from its validators). */
export function ApiOkBody(cls: Ctor, description: string, opts: RefOptions = {}): MethodDecorator & ClassDecorator {
  return ApiOkResponse({ description, schema: openApiSchemas.ref(cls, opts) });
}

/** A 201 response whose body is the DTO class. */
export function ApiCreatedBody(cls: Ctor, description: string): MethodDecorator & ClassDecorator {
  return ApiCreatedResponse({ description, schema: openApiSchemas.ref(cls) });
}

/** The request body schema from the DTO class. */
export function ApiBodyFrom(cls: Ctor, opts: { required?: boolean; description?: string } = {}): MethodDecorator {
  return ApiBody({
    schema: openApiSchemas.ref(cls),
    required: opts.required ?? true,
    ...(opts.description ? { description: opts.description } : {}),
  });
}

/** One query parameter per property of a flat query DTO class; the route then accepts those (see StrayQueryGuard). */
export function ApiQueryFrom(cls: Ctor): MethodDecorator {
  return applyDecorators(
    TakesQuery(cls),
    ...openApiSchemas.properties(cls).map(({ name, required, schema }) => {
      const { nullable: _n, ...s } = schema;
      return ApiQuery({ name, required, schema: s });
    }),
  );
}

/** A path parameter with a schema. */
export function ApiPathParam(name: string, description: string, schema: Record<string, unknown>): MethodDecorator {
  return ApiParam({ name, description, schema });
}
