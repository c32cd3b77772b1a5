import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { UnauthenticatedError } from '@swarm-mesh/contracts';
import type { FastifyRequest } from 'fastify';
import type { Principal, Role } from './principal';

export const PUBLIC_ROUTE = 'swarm:public';
export const REQUIRED_ROLE = 'swarm:role';

/** The route needs no API key. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/** The least role the route needs (default: viewer for GET/HEAD, operator otherwise). */
export const RequireRole = (role: Role): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_ROLE, role);

/** The caller resolved by the auth guard. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<FastifyRequest>().principal;
  if (!principal) throw new UnauthenticatedError();
  return principal;
});
