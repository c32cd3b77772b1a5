import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
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
 * `/queues?capabilty=x` fails loudly (400 VALIDATION_FAILED) instead of being ignored — and the
 * same for body fields sent to a route that takes no body.
 */
@Injectable()
export class StrayQueryGuard implements CanActivate {
  private readonly bodyRoutes = new WeakMap<object, boolean>();

  constructor(private readonly reflector: Reflector) {}

  canActivate(ctx: ExecutionContext): boolean {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    if (!(req.routeOptions.url ?? '').startsWith(API_ROUTE_PREFIX)) return true;
    if (this.reflector.get<Function | undefined>(QUERY_PARAMS, ctx.getHandler())) return true;
    // open routes (health) tolerate cache-busting parameters from probes
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE, [ctx.getHandler(), ctx.getClass()])) return true;
    this.refuseStrayBody(ctx, req);
    const names = Object.keys((req.query as Record<string, unknown> | undefined) ?? {});
    if (names.length === 0) return true;
    throw new ValidationError(
      `this route takes no query parameters (got ${names.join(', ')})`,
      names.map((path) => ({ path, message: `unknown query parameter "${path}"`, constraint: 'whitelistValidation' })),
    );
  }

  /** Whether the handler has a @Body() parameter (Nest's route-argument metadata), looked up once per handler. */
  private takesBody(ctx: ExecutionContext): boolean {
    const handler = ctx.getHandler();
    let takes = this.bodyRoutes.get(handler);
    if (takes === undefined) {
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, ctx.getClass(), handler.name) ?? {}) as Record<string, unknown>;
      takes = Object.keys(args).some((k) => k.startsWith(`${RouteParamtypes.BODY}:`));
      this.bodyRoutes.set(handler, takes);
    }
    return takes;
  }

  /**
   * A route without a @Body() parameter takes no body: nothing, an empty body or `{}` pass;
   * fields are refused like unknown fields of any body (so `POST /dead-letters/{id}/replay
   * {"input": …}` does not silently replay without the change the caller meant).
   */
  private refuseStrayBody(ctx: ExecutionContext, req: FastifyRequest): void {
    const body: unknown = req.body;
    if (body === undefined || body === null) return;
    if (this.takesBody(ctx)) return;
    if (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0) return;
    const names = typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
    throw new ValidationError(
      names.length > 0 ? `this route takes no body (got ${names.join(', ')})` : 'this route takes no body',
      names.length > 0
        ? names.map((path) => ({ path, message: `unknown field "${path}"`, constraint: 'whitelistValidation' }))
        : [{ path: '(root)', message: 'this route takes no body', constraint: 'whitelistValidation' }],
    );
  }
}
