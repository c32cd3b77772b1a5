import { headers as natsHeaders, type MsgHdrs } from 'nats';
import { extractContext, injectContext, type Context } from '@swarm-mesh/telemetry';

/** Header names the mesh sets. */
export const HEADERS = {
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  /** JetStream de-duplication id. */
  msgId: 'Nats-Msg-Id',
  /** Error code on error replies (also in the body) so clients can branch without parsing. */
  errorCode: 'Swarm-Error-Code',
} as const;

const setter = {
  set(carrier: MsgHdrs, key: string, value: string): void {
    carrier.set(key, value);
  },
};

const getter = {
  get(carrier: MsgHdrs | undefined, key: string): string | undefined {
    if (!carrier) return undefined;
    const v = carrier.get(key);
    return v === '' ? undefined : v;
  },
  keys(carrier: MsgHdrs | undefined): string[] {
    return carrier ? carrier.keys() : [];
  },
};

/** New headers carrying the W3C trace context of `ctx`. */
export function traceHeaders(ctx?: Context): MsgHdrs {
  const h = natsHeaders();
  injectContext(h, setter, ctx);
  return h;
}

/** Injects trace context into existing headers. */
export function injectTrace(h: MsgHdrs, ctx?: Context): MsgHdrs {
  injectContext(h, setter, ctx);
  return h;
}

/** The trace context carried by received headers (root context when none). */
export function contextFromHeaders(h: MsgHdrs | undefined): Context {
  return extractContext(h, getter);
}
