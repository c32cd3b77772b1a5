import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import { currentTraceId, type Logger } from '@swarm-mesh/telemetry';
import type { FastifyReply } from 'fastify';
import { throwError, type Observable } from 'rxjs';
import { toErrorResponse } from './error-body';

/**
 * One exception filter for every context of every service. HTTP: errors leave as
 * `{code, message, details}` with the status their code implies. RPC (mesh commands): the
 * error passes through unchanged, so the bus replies with its code and retryable flag.
 */
@Catch()
export class MeshExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() !== 'http') return throwError(() => exception);
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const traceId = currentTraceId();
    const { status, body } = toErrorResponse(exception, traceId);
    if (status >= 500) this.logger.error('request failed', { err: exception, status });
    const headers: Record<string, string> = {};
    if (body.code === 'RATE_LIMITED') {
      const retryAfterMs = Number(body.details.retryAfterMs ?? 1000);
      headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
    }
    if (traceId) headers['x-trace-id'] = traceId;
    void reply.status(status).headers(headers).send(body);
  }
}
