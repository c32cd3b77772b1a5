/**
 * # Subject grammar
 *
 * Every NATS subject of the mesh is built here, by functions, from this grammar. Tokens are
 * lowercase `[a-z0-9_-]`; ids and capability names are checked by `token()`.
 *
 * ```
 * swarm.<domain>.<channel>                 swarm channels: pub/sub facts shared by agents
 *                                          (domain ∈ data|content|intel|quality|infra)
 * swarm.cmd.<service>.<command…>           commands: core request/reply; handlers join the
 *                                          queue group named after <service>
 * swarm.evt.<entity>.<event>               events: facts published through an outbox onto the
 *                                          JetStream stream EVENTS
 * swarm.agent.<agentId>.<verb>             agent → mesh: register, heartbeat, results, …
 *                                          (an agent may publish only under its own id)
 * swarm.agent.<agentId>.inbox.<verb>       mesh → agent: dispatch (JetStream stream DISPATCH),
 *                                          control (core)
 * ```
 *
 * Tests and side-by-side deployments isolate themselves with a *namespace*: the transport
 * prefixes every subject with `<namespace>.` and every stream, consumer, KV bucket and queue
 * group with `<NAMESPACE>_`/`<namespace>-` (see `namespaced*` below). Definitions never carry
 * the namespace, so caller and handler stay in step.
 */
import { AGENT_DOMAINS, type AgentDomain, type ServiceName } from '../enums';

export const SUBJECT_ROOT = 'swarm';

const TOKEN_RE = /^[a-z0-9_-]{1,128}$/;
const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

/** Checks one subject token (lowercase identifiers: services, commands, capabilities). */
export function token(value: string, what = 'token'): string {
  if (!TOKEN_RE.test(value)) throw new Error(`invalid subject ${what} "${value}": expected [a-z0-9_-]{1,128}`);
  return value;
}

/** Checks an id token (agent ids may contain upper case). `*` and `>` are allowed for patterns. */
export function idToken(value: string, what = 'id'): string {
  if (value === '*' || value === '>') return value;
  if (!ID_RE.test(value)) throw new Error(`invalid subject ${what} "${value}": expected [A-Za-z0-9_-]{1,128}`);
  return value;
}

/** The fifteen swarm channels of the brief, by domain. */
export const SWARM_CHANNELS = {
  data: ['fetch_requests', 'api_responses', 'cache_updates'],
  content: ['generation_requests', 'review_queue', 'approved'],
  intel: ['analysis_requests', 'insights', 'predictions'],
  quality: ['validation', 'errors', 'metrics'],
  infra: ['health', 'scaling', 'alerts'],
} as const satisfies Record<AgentDomain, readonly string[]>;

export type SwarmChannelName<D extends AgentDomain = AgentDomain> = (typeof SWARM_CHANNELS)[D][number];

/** `swarm.<domain>.<channel>` */
export function channelSubject<D extends AgentDomain>(domain: D, channel: SwarmChannelName<D>): string {
  if (!AGENT_DOMAINS.includes(domain)) throw new Error(`unknown domain "${domain}"`);
  if (!(SWARM_CHANNELS[domain] as readonly string[]).includes(channel)) throw new Error(`unknown channel "${domain}.${channel}"`);
  return `${SUBJECT_ROOT}.${domain}.${channel}`;
}

/** Every channel subject, in catalogue order. */
export function allChannelSubjects(): string[] {
  return AGENT_DOMAINS.flatMap((d) => (SWARM_CHANNELS[d] as readonly string[]).map((c) => `${SUBJECT_ROOT}.${d}.${c}`));
}

/** `swarm.cmd.<service>.<command…>`; `command` may have dots (`tasks.submit`). */
export function commandSubject(service: ServiceName, command: string): string {
  for (const part of command.split('.')) token(part, 'command token');
  return `${SUBJECT_ROOT}.cmd.${service}.${command}`;
}

/** `swarm.evt.<entity>.<event>` */
export function eventSubject(entity: string, event: string): string {
  return `${SUBJECT_ROOT}.evt.${token(entity, 'entity')}.${token(event, 'event')}`;
}

/** `swarm.evt.>` — everything on the EVENTS stream. */
export const EVENTS_WILDCARD = `${SUBJECT_ROOT}.evt.>`;

/** `swarm.agent.<agentId>.<verb>` — agent → mesh. Use `*` as agentId for a subscription pattern. */
export function agentSubject(agentId: string, verb: string): string {
  return `${SUBJECT_ROOT}.agent.${idToken(agentId, 'agent id')}.${token(verb, 'verb')}`;
}

/** `swarm.agent.<agentId>.inbox.<verb>` — mesh → agent. */
export function agentInboxSubject(agentId: string, verb: string): string {
  return `${SUBJECT_ROOT}.agent.${idToken(agentId, 'agent id')}.inbox.${token(verb, 'verb')}`;
}

/** Logical JetStream stream names (before namespacing). */
export const STREAMS = {
  /** Facts from every service's outbox: `swarm.evt.>`. */
  EVENTS: 'SWARM_EVENTS',
  /** Per-agent work: `swarm.agent.*.inbox.dispatch`. */
  DISPATCH: 'SWARM_DISPATCH',
  /** Attempt results from agents: `swarm.agent.*.results`. */
  RESULTS: 'SWARM_RESULTS',
} as const;

/** Logical NATS KV buckets (before namespacing). */
export const KV_BUCKETS = {
  FLAGS: 'swarm_flags',
  LEASES: 'swarm_leases',
  /** Learned start-to-close timeouts per tenant (performance optimizer → coordinator). */
  TIMEOUTS: 'swarm_timeouts',
  /** Pool routing weights per tenant (performance optimizer → resource allocator). */
  ROUTING_WEIGHTS: 'swarm_routing_weights',
} as const;

/** Prefixes a subject with the namespace (`t1ab.swarm.cmd…`); empty namespace = unchanged. */
export function namespacedSubject(namespace: string, subject: string): string {
  return namespace ? `${namespace}.${subject}` : subject;
}

/** Strips the namespace prefix from a received subject. */
export function stripNamespace(namespace: string, subject: string): string {
  return namespace && subject.startsWith(`${namespace}.`) ? subject.slice(namespace.length + 1) : subject;
}

/** Stream, consumer and KV names: `<NAMESPACE>_<NAME>` (JetStream names may not contain dots). */
export function namespacedName(namespace: string, name: string): string {
  return namespace ? `${namespace.toUpperCase()}_${name}` : name;
}

/** Queue groups: `<namespace>-<service>`; a dev coordinator never answers a test's requests. */
export function namespacedQueue(namespace: string, service: string): string {
  return namespace ? `${namespace}-${service}` : service;
}

const NAMESPACE_RE = /^[a-z][a-z0-9_]{0,31}$/;

/** Checks a namespace: lowercase, starts with a letter, at most 32 characters, no dots. */
export function validateNamespace(namespace: string): string {
  if (namespace !== '' && !NAMESPACE_RE.test(namespace)) {
    throw new Error(`invalid namespace "${namespace}": expected ^[a-z][a-z0-9_]{0,31}$ or empty`);
  }
  return namespace;
}
