import type { FastifyAdapter } from '@nestjs/platform-fastify';
import { MalformedJsonError, parseJson } from '@swarm-mesh/contracts';
import { parse as parseQueryString } from 'node:querystring';

/**
 * Installs the request body parsers of every service's HTTP server (before Nest would install
 * its own):
 * - `application/json` through the same decoder as every mesh message (`parseJson`): malformed
 *   JSON → 400 `MALFORMED_JSON` with the parser's reason; a `__proto__`, `constructor` or
 *   `prototype` key, or nesting deeper than 32 levels → 400 `VALIDATION_FAILED` naming the path
 *   (Fastify's own parser answers every one of these "Body is not valid JSON", which misleads
 *   for a valid document with a forbidden key). An empty body is `MALFORMED_JSON`, as before.
 * - `application/x-www-form-urlencoded` as Nest's default does (a flat object, then validated
 *   like any body), so installing the JSON parser does not drop it.
 */
export function installBodyParsers(adapter: FastifyAdapter, bodyLimit: number): void {
  adapter.useBodyParser('application/json', false, { bodyLimit }, (_req, body, done) => {
    if (body.length === 0) {
      done(new MalformedJsonError("body is empty but content-type is 'application/json'"), undefined);
      return;
    }
    try {
      done(null, parseJson(body, { maxBytes: bodyLimit }));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  adapter.useBodyParser('application/x-www-form-urlencoded', false, { bodyLimit }, (_req, body, done) => {
    done(null, parseQueryString(body.toString('utf8')));
  });
}
