import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import { readFileSync } from 'node:fs';
import { type Logger, silentLogger } from '@swarm-mesh/telemetry';
import { installLeanNatsRequest } from './lean-nats-request';

/** Options of `connectMesh`. */
export interface MeshConnectionOptions {
  /** Server URLs, e.g. `nats://127.0.0.1:4222` (comma-separated string or list). Required. */
  servers: string | string[];
  /** Connection name shown by `nats-server` monitoring. Default `swarm-mesh`. */
  name?: string;
  /** User/password auth. Default none. */
  user?: string;
  pass?: string;
  /** Token auth. Default none. */
  token?: string;
  /** Path to a `.creds` file (JWT + nkey). Default none. */
  credsFile?: string;
  /** Wait between reconnect attempts. Default 500 ms (jittered by the client). */
  reconnectTimeWaitMs?: number;
  /** Keep-alive ping interval. Default 10 s. */
  pingIntervalMs?: number;
  /** Logger for connection status changes. Default silent. */
  logger?: Logger;
}

/**
 * Connects to NATS the way every mesh component must: reconnect forever, wait on the first
 * connect (a service started before NATS keeps trying instead of crashing), and log every
 * status change.
 */
export async function connectMesh(options: MeshConnectionOptions): Promise<NatsConnection> {
  installLeanNatsRequest();
  const logger = options.logger ?? silentLogger;
  const servers = (Array.isArray(options.servers) ? options.servers : options.servers.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const opts: ConnectionOptions = {
    servers,
    name: options.name ?? 'swarm-mesh',
    reconnect: true,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: options.reconnectTimeWaitMs ?? 500,
    reconnectJitter: 100,
    pingInterval: options.pingIntervalMs ?? 10_000,
    maxPingOut: 3,
    timeout: 5_000,
    // an Error (with a stack) per request/ack only to improve timeout traces: too costly on the hot path
    noAsyncTraces: true,
  };
  if (options.user !== undefined) opts.user = options.user;
  if (options.pass !== undefined) opts.pass = options.pass;
  if (options.token !== undefined) opts.token = options.token;
  if (options.credsFile) opts.authenticator = credsAuthenticator(readFileSync(options.credsFile));
  const nc = await connect(opts);
  logger.info('nats connected', { server: nc.getServer(), name: opts.name });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'pingTimer') continue;
      const level = s.type === 'disconnect' || s.type === 'error' ? 'warn' : 'info';
      logger[level]('nats status', { type: s.type, data: typeof s.data === 'string' ? s.data : JSON.stringify(s.data) });
    }
  })().catch(() => {});
  return nc;
}
