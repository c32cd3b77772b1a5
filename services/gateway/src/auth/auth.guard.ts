import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ForbiddenError, RateLimitedError, UnauthenticatedError } from '@swarm-mesh/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditService } from '../audit/audit.service';
import { presentedKey } from './api-key';
import { ApiKeyService } from './api-key.service';
import { PLATFORM_TENANT_ONLY, PUBLIC_ROUTE, REQUIRED_ROLE } from './auth.decorators';
import { READ_METHODS } from './keyless-writes.hook';
import { type Role, roleAllows } from './principal';
import { RateLimiter } from './rate-limiter';

/** Routes of the service kit (this process's /health and /metrics) that stay open for probes and scrapers. */
const OPEN_ROUTES = new Set(['/health', '/health/live', '/metrics']);

/**
 * Global guard: every route needs an API key (`Authorization: Bearer <key>` or `x-api-key`)
 * unless marked @Public() or listed above; each key is rate limited (429 RATE_LIMITED with
 * Retry-After); viewer keys may only read; routes marked @PlatformTenantOnly() (mesh-wide changes)
 * admit keys of the platform tenant alone (the bootstrap key's). The resolved Principal is put on the request for
 * controllers (@CurrentPrincipal()). A refused mutation (403) is written to the audit log.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
    private readonly limiter: RateLimiter,
    private readonly audit: AuditService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    if (OPEN_ROUTES.has(req.routeOptions.url ?? '')) return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE, targets)) return true;
    const key = presentedKey(req.headers);
    if (key === undefined) throw new UnauthenticatedError();
    const principal = await this.keys.authenticate(key);
    if (!principal) throw new UnauthenticatedError('the API key is invalid or revoked');
    const verdict = await this.limiter.check(principal.keyId, principal.rateLimit);
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    if (Number.isFinite(verdict.limit) && verdict.limit > 0) {
      void reply.header('x-ratelimit-limit', String(verdict.limit));
      void reply.header('x-ratelimit-remaining', String(verdict.allowed ? verdict.remaining : 0));
    }
    if (!verdict.allowed) throw new RateLimitedError(verdict.retryAfterMs);
    const needed: Role =
      this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, targets) ?? (READ_METHODS.has(req.method) ? 'viewer' : 'operator');
    if (!roleAllows(principal.role, needed)) {
      const err = new ForbiddenError(
        `a ${principal.role} key cannot do this: ${req.method} ${req.routeOptions.url ?? req.url} needs ${needed}`,
      );
      if (!READ_METHODS.has(req.method)) this.audit.recordDenied(req, reply, principal, needed);
      throw err;
    }
    const platformOnly = this.reflector.getAllAndOverride<string | undefined>(PLATFORM_TENANT_ONLY, targets);
    if (platformOnly !== undefined && !this.keys.isBootstrap(principal) && principal.tenantId !== this.keys.platformTenant) {
      const err = new ForbiddenError(
        `only keys of the platform tenant (${this.keys.platformTenant}) may do this: ${req.method} ${req.routeOptions.url ?? req.url} (${platformOnly})`,
      );
      if (!READ_METHODS.has(req.method)) this.audit.recordDenied(req, reply, principal, 'platform tenant');
      throw err;
    }
    req.principal = principal;
    return true;
  }
}
