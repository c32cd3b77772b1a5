import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { UnauthenticatedError } from '@swarm-mesh/contracts';
import type { FastifyRequest } from 'fastify';
import type { Principal, Role } from './principal';

export const PUBLIC_ROUTE = 'swarm:public';
export const REQUIRED_ROLE = 'swarm:role';
export const PLATFORM_TENANT_ONLY = 'swarm:platform-tenant-only';

/** The route needs no API key. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/** The least role the route needs (default: viewer for GET/HEAD, operator otherwise). */
export const RequireRole = (role: Role): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_ROLE, role);

/**
 * Only keys of the platform tenant — the bootstrap admin key's tenant (`default`), which runs the
 * mesh — may call the route: for changes that apply to every tenant (runtime flags). Keys of any
 * other tenant, their admin keys included, are refused with 403 FORBIDDEN (audited as
 * `denied`); `reason` goes in the message. The route's role requirement still applies.
 */
export const PlatformTenantOnly = (reason: string): MethodDecorator & ClassDecorator => SetMetadata(PLATFORM_TENANT_ONLY, reason);

/** The caller resolved by the auth guard. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<FastifyRequest>().principal;
  if (!principal) throw new UnauthenticatedError();
  return principal;
});
