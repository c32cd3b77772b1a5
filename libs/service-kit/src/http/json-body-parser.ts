import type { FastifyAdapter } from '@nestjs/platform-fastify';
import { parseJson } from '@swarm-mesh/contracts';

/**
 * Installs the request body parser of every service's HTTP server (before Nest would install
 * its own): `application/json` through the same decoder as every mesh message (`parseJson`).
 * - malformed JSON → 400 `MALFORMED_JSON` with the parser's reason;
 * - a `__proto__`, `constructor` or `prototype` key, nesting deeper than 32 levels, or a string
 *   Postgres cannot store (U+0000, an unpaired surrogate) → 400 `VALIDATION_FAILED` naming the
 *   path (Fastify's own parser answered every refused body "Body is not valid JSON", which
 *   misleads for a valid document with a forbidden key);
 * - an empty body is no body (many clients send `content-type: application/json` on a DELETE or
 *   a body-less POST): routes whose body is optional accept it, the others refuse it as a
 *   missing body (`VALIDATION_FAILED`).
 * No other body type is parsed ("JSON in", CONTRACT.md): `application/x-www-form-urlencoded`,
 * which Nest would have accepted, is 415, as any other media type; `text/plain` stays a string
 * the validation refuses.
 */
export function installBodyParsers(adapter: FastifyAdapter, bodyLimit: number): void {
  adapter.useBodyParser('application/json', false, { bodyLimit }, (_req, body, done) => {
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    try {
      done(null, parseJson(body, { maxBytes: bodyLimit }));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
