import { AGENT_ID_RE, type MeshEventDto, TENANT_ID_RE } from '@swarm-mesh/contracts';

/** What a stream client asked for (every list empty = everything of its tenant). */
export interface StreamFilters {
  /** Tenants watched; `*` = all (bootstrap key only). */
  tenants: string[];
  /** `task` (every task.* event) or an exact type such as `task.succeeded`. */
  kinds: string[];
  tasks: string[];
  workflows: string[];
  agents: string[];
}

export const FILTER_NAMES = ['tenant', 'kind', 'task', 'workflow', 'agent'] as const;
type FilterName = (typeof FILTER_NAMES)[number];

const KIND_RE = /^[a-z_]+(\.[a-z_]+)?$/;
const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_VALUES = 100;

export class FilterError extends Error {}

function list(raw: unknown, name: FilterName, re: RegExp): string[] {
  if (raw === undefined || raw === null || raw === '') return [];
  const parts = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => {
    if (typeof v !== 'string') throw new FilterError(`${name} must be a string or a list of strings`);
    return v.split(',').map((s) => s.trim());
  });
  if (parts.length > MAX_VALUES) throw new FilterError(`${name}: at most ${MAX_VALUES} values`);
  for (const p of parts) if (!re.test(p)) throw new FilterError(`${name}: invalid value "${p.slice(0, 50)}"`);
  return parts;
}

/**
 * Parses filters (query parameters or a `subscribe` message) and checks the tenant: a key sees
 * its own tenant only; the bootstrap key may name any tenant or `*`.
 */
export function parseFilters(raw: Record<string, unknown>, ownTenant: string, crossTenant: boolean): StreamFilters {
  for (const k of Object.keys(raw)) {
    if (!(FILTER_NAMES as readonly string[]).includes(k))
      throw new FilterError(`unknown filter "${k.slice(0, 50)}" (use ${FILTER_NAMES.join(', ')})`);
  }
  const tenants = list(raw.tenant, 'tenant', /^(\*|[a-z0-9][a-z0-9_-]{0,63})$/);
  for (const t of tenants) {
    if (t !== ownTenant && !crossTenant) throw new FilterError(`this key may only watch tenant "${ownTenant}"`);
    if (t !== '*' && !TENANT_ID_RE.test(t)) throw new FilterError(`tenant: invalid value "${t}"`);
  }
  return {
    tenants: tenants.length > 0 ? tenants : [ownTenant],
    kinds: list(raw.kind, 'kind', KIND_RE),
    tasks: list(raw.task, 'task', ID_RE),
    workflows: list(raw.workflow, 'workflow', ID_RE),
    agents: list(raw.agent, 'agent', AGENT_ID_RE),
  };
}

function idIn(ids: string[], value: unknown): boolean {
  return typeof value === 'string' && ids.includes(value);
}

/** Whether an event passes the filters. Events without a tenant (`*`) go to everyone (flag changes). */
export function matches(f: StreamFilters, e: MeshEventDto): boolean {
  if (e.tenantId !== '*' && !f.tenants.includes('*') && !f.tenants.includes(e.tenantId)) return false;
  if (f.kinds.length > 0) {
    const entity = e.type.slice(0, e.type.indexOf('.'));
    if (!f.kinds.some((k) => k === e.type || k === entity)) return false;
  }
  const d = e.data as { taskId?: unknown; workflowId?: unknown; agentId?: unknown };
  if (f.tasks.length > 0 && !idIn(f.tasks, d.taskId)) return false;
  if (f.workflows.length > 0 && !idIn(f.workflows, d.workflowId)) return false;
  if (f.agents.length > 0 && !idIn(f.agents, d.agentId)) return false;
  return true;
}
