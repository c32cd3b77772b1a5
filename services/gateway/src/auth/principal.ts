/** Roles of an API key, weakest first: viewer (read-only) < operator (submit, cancel, drain, flags…) < admin (keys, audit, alerts). */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Readonly<Record<Role, number>> = { viewer: 0, operator: 1, admin: 2 };

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

/** Whether a key with `role` may do what needs `needed`. */
export function roleAllows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** Who is calling: resolved from the API key on every authenticated request. */
export interface Principal {
  /** Tenant passed as `tenantId` in every coordinator command. */
  tenantId: string;
  role: Role;
  /** `bootstrap` for SWARM_ADMIN_API_KEY, else the api_keys row id. */
  keyId: string;
  /** Key name (stored keys). */
  name?: string;
  /** Requests per rate window for this key; null/undefined = the gateway's GATEWAY_RATE_LIMIT. */
  rateLimit?: number | null;
}

/** `api-key:<id>`: how a principal appears as an actor (audit log, flag changes, replays). */
export function actorOf(p: Principal): string {
  return `api-key:${p.keyId}`;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth guard on authenticated routes. */
    principal?: Principal;
  }
}
