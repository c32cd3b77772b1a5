import { randomUUID } from 'node:crypto';
import type { Priority } from '../enums';
import { InvalidEnvelopeError, MessageExpiredError } from '../errors/errors';
import { type DecodeLimits, parseJson, validatePlain } from '../validation/decode';
import { ValidationError } from '../errors/errors';
import { AgentMessage } from './agent-message';

export interface EnvelopeInit<T extends object> {
  from: string;
  to: string;
  type: string;
  body: T;
  priority?: Priority;
  /** Milliseconds; 0 = never expires. Default 0. */
  ttl?: number;
  id?: string;
}

/** Builds an envelope around a body. */
export function createEnvelope<T extends object>(init: EnvelopeInit<T>): AgentMessage<T> {
  return {
    id: init.id ?? randomUUID(),
    from: init.from,
    to: init.to,
    type: init.type,
    priority: init.priority ?? 'MEDIUM',
    timestamp: new Date().toISOString(),
    ttl: init.ttl ?? 0,
    body: init.body,
    deliveryStatus: 'sent',
  };
}

/** Serialises an envelope for the wire. */
export function encodeEnvelope<T extends object>(env: AgentMessage<T>): Uint8Array {
  return Buffer.from(JSON.stringify(env));
}

/**
 * Serialises an envelope whose body is already JSON text (written once by the caller, e.g. into
 * an outbox row), without parsing and serialising the body again. `bodyJson` must be the JSON of
 * a plain object.
 */
export function encodeEnvelopeJson(env: Omit<AgentMessage<object>, 'body'>, bodyJson: string): Uint8Array {
  const head = JSON.stringify(env);
  return Buffer.from(`${head.slice(0, -1)},"body":${bodyJson}}`);
}

/**
 * Decodes and validates an envelope from the wire (size limit, JSON, shape, envelope fields,
 * ttl). The body is returned as parsed JSON; validate it against its definition next.
 */
export function decodeEnvelope(
  raw: Uint8Array | string,
  limits: DecodeLimits = {},
  now: number = Date.now(),
): AgentMessage<Record<string, unknown>> {
  const parsed = parseJson(raw, limits);
  let env: AgentMessage<Record<string, unknown>>;
  try {
    env = validatePlain<AgentMessage>(AgentMessage, parsed, 'envelope');
  } catch (err) {
    if (err instanceof ValidationError) {
      const violations = (err.details?.violations ?? []) as Array<{ path: string; message: string }>;
      throw new InvalidEnvelopeError(err.message, violations);
    }
    throw err;
  }
  // class-transformer copies `body`; keep the parsed object itself (no prototype surprises).
  env.body = (parsed as { body: Record<string, unknown> }).body;
  if (env.ttl > 0) {
    const age = now - Date.parse(env.timestamp);
    if (age > env.ttl) throw new MessageExpiredError(env.id, age, env.ttl);
  }
  return env;
}
