import { UnauthenticatedError } from '@swarm-mesh/contracts';
import { toErrorResponse } from '@swarm-mesh/service-kit';
import type { FastifyInstance } from 'fastify';
import { API_PREFIX } from '../http/api-prefix';
import { presentedKey } from './api-key';

/** Methods that only read (a viewer key may use them; no body is parsed for them). */
export const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A write to the API that presents no key is 401 before its body is read (a Fastify preParsing
 * hook; the guard runs only after parsing): a caller who is not authenticated learns nothing from
 * the body's checks (JSON, size, media type). A wrong key is the guard's to refuse, as before.
 */
export function refuseKeylessWrites(fastify: FastifyInstance): void {
  fastify.addHook('preParsing', async (req, reply, payload) => {
    if (
      !READ_METHODS.has(req.method) &&
      (req.routeOptions.url ?? '').startsWith(`/${API_PREFIX}/`) &&
      presentedKey(req.headers) === undefined
    ) {
      const { status, body } = toErrorResponse(new UnauthenticatedError());
      return reply.code(status).send(body);
    }
    return payload;
  });
}
