/**
 * Typed message definitions. One object carries a subject and the payload classes; the
 * handler and the caller import the same object, so they cannot drift apart (the pattern of
 * Temporal's `defineSignal`). Validation classes double as the TypeScript types.
 */
import type { ServiceName } from '../enums';
import { commandSubject } from '../subjects/subjects';
import { type Ctor, DEFAULT_MAX_PAYLOAD_BYTES } from '../validation/decode';

/** Default caller timeout of a command. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

/** A command: core NATS request/reply, handled by one instance of `service` (queue group). */
export interface CommandDefinition<Req extends object, Res extends object> {
  readonly kind: 'command';
  /** `<service>.<command>`, e.g. `coordinator.tasks.submit`; also the envelope `type`. */
  readonly name: string;
  /** The service whose instances handle it; their queue group is named after it. */
  readonly service: ServiceName;
  /**
   * Subject handlers subscribe to (before namespacing): `swarm.cmd.<service>.<command>`, or a
   * pattern with `*` for commands addressed per agent (`swarm.agent.*.register`).
   */
  readonly subject: string;
  /** Builds the concrete subject for a caller when `subject` is a pattern. */
  readonly subjectFor?: (...params: string[]) => string;
  readonly request: Ctor<Req>;
  readonly reply: Ctor<Res>;
  /** Caller's default deadline. */
  readonly timeoutMs: number;
  /** Largest accepted request payload (bytes, envelope included). */
  readonly maxPayloadBytes: number;
  readonly description: string;
}

export interface CommandSpec<Req extends object, Res extends object> {
  service: ServiceName;
  /** Dotted command path under the service, e.g. `tasks.submit`. */
  command: string;
  /** Overrides the subject built from the grammar (per-agent commands): pattern + builder. */
  subject?: { pattern: string; build: (...params: string[]) => string };
  request: Ctor<Req>;
  reply: Ctor<Res>;
  timeoutMs?: number;
  maxPayloadBytes?: number;
  description: string;
}

export function defineCommand<Req extends object, Res extends object>(spec: CommandSpec<Req, Res>): CommandDefinition<Req, Res> {
  return Object.freeze({
    kind: 'command' as const,
    name: `${spec.service}.${spec.command}`,
    service: spec.service,
    subject: spec.subject ? spec.subject.pattern : commandSubject(spec.service, spec.command),
    ...(spec.subject ? { subjectFor: spec.subject.build } : {}),
    request: spec.request,
    reply: spec.reply,
    timeoutMs: spec.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    maxPayloadBytes: spec.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    description: spec.description,
  });
}

/**
 * A one-way message: an event, a channel message, a heartbeat, a dispatch. `subject` is the
 * subscription pattern (it may contain `*`); `subjectFor(...)` builds a concrete subject
 * where the pattern has wildcards. `stream` names the JetStream stream that stores it, if any.
 */
export interface MessageDefinition<T extends object, P extends unknown[] = []> {
  readonly kind: 'message';
  readonly name: string;
  readonly subject: string;
  readonly subjectFor: (...params: P) => string;
  readonly payload: Ctor<T>;
  readonly stream?: string;
  readonly maxPayloadBytes: number;
  /** Create spans for publish/handle. False for high-rate chatter such as heartbeats. */
  readonly traced: boolean;
  readonly description: string;
}

export interface MessageSpec<T extends object, P extends unknown[]> {
  name: string;
  /** Subscription pattern (may contain `*`/`>`). */
  subject: string;
  /** Builds the concrete subject to publish on; defaults to the pattern itself. */
  subjectFor?: (...params: P) => string;
  payload: Ctor<T>;
  stream?: string;
  maxPayloadBytes?: number;
  /** Default true. */
  traced?: boolean;
  description: string;
}

export function defineMessage<T extends object, P extends unknown[] = []>(spec: MessageSpec<T, P>): MessageDefinition<T, P> {
  const fixed = spec.subject;
  return Object.freeze({
    kind: 'message' as const,
    name: spec.name,
    subject: spec.subject,
    subjectFor: spec.subjectFor ?? (() => fixed),
    payload: spec.payload,
    ...(spec.stream !== undefined ? { stream: spec.stream } : {}),
    maxPayloadBytes: spec.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    traced: spec.traced ?? true,
    description: spec.description,
  });
}

/** Request type of a command definition. */
export type RequestOf<D> = D extends CommandDefinition<infer Req, object> ? Req : never;
/** Reply type of a command definition. */
export type ReplyOf<D> = D extends CommandDefinition<object, infer Res> ? Res : never;
/** Payload type of a message definition. */
export type PayloadOf<D> = D extends MessageDefinition<infer T, infer _P> ? T : never;

/** The body of every reply on the wire: the typed reply, or a coded error. */
export type ReplyBody<T> = { ok: true; data: T } | { ok: false; error: import('../errors/errors').WireError };
