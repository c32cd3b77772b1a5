import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ValidationError } from '@swarm-mesh/contracts';
import type { FastifyRequest } from 'fastify';
import { PUBLIC_ROUTE } from '../auth/auth.decorators';
import { API_PREFIX } from './api-prefix';

export const QUERY_PARAMS = 'swarm:query-params';

/** Marks a route as taking query parameters (validated by its @Query() DTO). */
export const TakesQuery = (cls: Function): MethodDecorator => SetMetadata(QUERY_PARAMS, cls);

const API_ROUTE_PREFIX = `/${API_PREFIX}/`;

/**
 * Query parameters of routes with a query DTO are checked by the validation pipe (unknown ones
 * rejected); this guard rejects any query parameter on the other authenticated API routes, so a typo such as
 * `/queues?capabilty=x` fails loudly (400 VALIDATION_FAILED) instead of being ignored.
 */
@Injectable()
export class StrayQueryGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(ctx: ExecutionContext): boolean {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    if (!(req.routeOptions.url ?? '').startsWith(API_ROUTE_PREFIX)) return true;
    if (this.reflector.get<Function | undefined>(QUERY_PARAMS, ctx.getHandler())) return true;
    // open routes (health) tolerate cache-busting parameters from probes
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE, [ctx.getHandler(), ctx.getClass()])) return true;
    const names = Object.keys((req.query as Record<string, unknown> | undefined) ?? {});
    if (names.length === 0) return true;
    throw new ValidationError(
      `this route takes no query parameters (got ${names.join(', ')})`,
      names.map((path) => ({ path, message: `unknown query parameter "${path}"`, constraint: 'whitelistValidation' })),
    );
  }
}
