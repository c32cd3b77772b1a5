import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { toErrorResponse } from '@swarm-mesh/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, type Observable, switchMap, tap } from 'rxjs';
import { AuditService, auditStartOf } from './audit.service';

export const AUDIT_SELF = 'swarm:audit-self';
/** The handler writes its audit entry itself, in the transaction of its change (AuditService.inTransaction). */
export const AuditedInTransaction = (): MethodDecorator => SetMetadata(AUDIT_SELF, true);

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Nest's @HttpCode() metadata key. */
const HTTP_CODE = '__httpCode__';

/** What the entry keeps of a result: the id of what was created or changed, a batch's size. */
function resultFacts(result: unknown): { targetId: string | null; details: Record<string, unknown> | null } {
  if (typeof result !== 'object' || result === null) return { targetId: null, details: null };
  const r = result as { id?: unknown; tasks?: unknown; name?: unknown };
  if (Array.isArray(r.tasks)) return { targetId: null, details: { count: r.tasks.length } };
  if (typeof r.id === 'string') return { targetId: r.id.slice(0, 300), details: null };
  return { targetId: null, details: null };
}

/**
 * Global interceptor: every authenticated mutating call (POST, PUT, PATCH, DELETE) — of this
 * issue's routes and of every other controller registered in the gateway — gets an audit
 * entry: written `pending` and committed before the handler runs (so the effect never happens
 * unaudited; if the audit log cannot be written the call fails with 503), then completed with
 * `succeeded` or `failed`, the HTTP status and the error code.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly audit: AuditService,
    private readonly reflector: Reflector,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const principal = req.principal;
    if (!principal || !MUTATING.has(req.method)) return next.handle();
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const start = auditStartOf(req, reply, principal);
    req.auditStart = start;
    if (this.reflector.get<boolean | undefined>(AUDIT_SELF, ctx.getHandler())) {
      // the handler writes its entry in its own transaction; failures before it (validation) are recorded here
      return next.handle().pipe(
        tap({
          error: (err: unknown) => {
            if (start.recorded) return;
            const { status, body } = toErrorResponse(err);
            this.audit.record(start, status === 403 ? 'denied' : 'failed', status, { code: body.code });
          },
        }),
      );
    }
    const okStatus = this.reflector.get<number | undefined>(HTTP_CODE, ctx.getHandler()) ?? (req.method === 'POST' ? 201 : 200);
    return from(this.audit.begin(start)).pipe(
      switchMap(() => next.handle()),
      tap({
        next: (result) => {
          const facts = resultFacts(result);
          this.audit.complete(start.id, 'succeeded', okStatus, facts.targetId, facts.details);
        },
        error: (err: unknown) => {
          const { status, body } = toErrorResponse(err);
          this.audit.complete(start.id, 'failed', status, null, { code: body.code });
        },
      }),
    );
  }
}
