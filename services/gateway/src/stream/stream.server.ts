import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type MeshEventDto, RateLimitedError, SwarmError, UnauthenticatedError } from '@swarm-mesh/contracts';
import type { FlagStore } from '@swarm-mesh/messaging';
import { FLAGS, LOGGER, METRICS, type MetricsRegistry, SERVICE_CONFIG, type ServiceConfig, toErrorResponse } from '@swarm-mesh/service-kit';
import type { Logger } from '@swarm-mesh/telemetry';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Gauge } from 'prom-client';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { presentedKey } from '../auth/api-key';
import { ApiKeyService } from '../auth/api-key.service';
import type { Principal } from '../auth/principal';
import { RateLimiter } from '../auth/rate-limiter';
import type { GatewayEnv } from '../gateway.env';
import { API_PREFIX } from '../http/api-prefix';
import { EventHub } from './event-hub.service';
import { FilterError, matches, parseFilters, type StreamFilters } from './stream-filters';

export const STREAM_PATH = `/${API_PREFIX}/stream`;
const PING_INTERVAL_MS = 30_000;

interface Client {
  ws: WebSocket;
  principal: Principal;
  filters: StreamFilters;
  dropped: number;
  alive: boolean;
}

function frame(type: string, data: Record<string, unknown>, ts = new Date().toISOString()): string {
  return JSON.stringify({ type, ts, data });
}

/**
 * The live stream: a WebSocket at /api/v1/stream on the gateway's own HTTP server (the upgrade
 * is taken before Fastify routing). Authenticated with `?token=<key>` or the usual headers;
 * filtered by tenant (a key's own), kind, task, workflow and agent — as query parameters or
 * later with `{"type":"subscribe","filters":{…}}`. Each message is `{"type","ts","data"}`
 * (CONTRACT.md); the first is `stream.ready` with the filters in force. A client too slow to
 * keep up loses events and is told how many (`stream.dropped`). Revoking a key closes its
 * streams (code 4401).
 */
@Injectable()
export class StreamServer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false });
  private readonly clients = new Set<Client>();
  private server: Server | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private unsubscribe: Array<() => void> = [];
  private readonly maxBuffer: number;
  private readonly maxClients: number;
  private readonly gauge: Gauge;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void this.upgrade(req, socket, head);
  };

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly hub: EventHub,
    private readonly keys: ApiKeyService,
    private readonly limiter: RateLimiter,
    @Inject(FLAGS) private readonly flags: FlagStore,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<GatewayEnv>,
    @Inject(METRICS) metrics: MetricsRegistry,
  ) {
    this.maxBuffer = config.extra.GATEWAY_STREAM_MAX_BUFFER_BYTES;
    this.maxClients = config.extra.GATEWAY_STREAM_MAX_CLIENTS;
    this.gauge = new Gauge({
      name: 'swarm_gateway_stream_clients',
      help: 'Connected WebSocket stream clients',
      registers: [metrics.registry],
    });
  }

  onApplicationBootstrap(): void {
    this.server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.server.on('upgrade', this.onUpgrade);
    this.unsubscribe.push(
      this.hub.on(
        (events) => this.broadcast(events),
        () => this.clients.size > 0,
      ),
    );
    this.unsubscribe.push(
      this.flags.onChange((name, enabled) => {
        const f = this.flags.list().find((x) => x.name === name);
        this.hub.emitLocal([
          {
            type: 'flag.changed',
            ts: new Date().toISOString(),
            tenantId: '*',
            data: { name, enabled, updatedBy: f?.updatedBy ?? null },
          },
        ]);
      }),
    );
    this.pinger = setInterval(() => this.ping(), PING_INTERVAL_MS);
    this.pinger.unref();
  }

  onModuleDestroy(): void {
    this.server?.off('upgrade', this.onUpgrade);
    for (const u of this.unsubscribe) u();
    if (this.pinger) clearInterval(this.pinger);
    for (const c of this.clients) c.ws.close(1001, 'gateway stopping');
    this.clients.clear();
    this.wss.close();
  }

  /** Connected clients (tests, metrics). */
  get size(): number {
    return this.clients.size;
  }

  private refuse(socket: Duplex, err: unknown, extraHeaders: Record<string, string> = {}): void {
    const { status, body } = toErrorResponse(err);
    const json = JSON.stringify(body);
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(json)),
      connection: 'close',
      ...extraHeaders,
    };
    const head = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n');
    socket.end(
      `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 429 ? 'Too Many Requests' : 'Error'}\r\n${head}\r\n\r\n${json}`,
    );
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://gateway');
    } catch {
      socket.destroy();
      return;
    }
    if (url.pathname !== STREAM_PATH) {
      this.refuse(socket, new SwarmError('ROUTE_NOT_FOUND', `no WebSocket endpoint at ${url.pathname.slice(0, 100)}`));
      return;
    }
    try {
      const raw: Record<string, unknown> = {};
      let token: string | undefined;
      for (const [k, v] of url.searchParams) {
        if (k === 'token') token = v;
        else raw[k] = raw[k] === undefined ? v : ([] as unknown[]).concat(raw[k], v);
      }
      const key = token ?? presentedKey(req.headers);
      if (!key) throw new UnauthenticatedError();
      const principal = await this.keys.authenticate(key);
      if (!principal) throw new UnauthenticatedError('the API key is invalid or revoked');
      const verdict = await this.limiter.check(principal.keyId, principal.rateLimit);
      if (!verdict.allowed) throw new RateLimitedError(verdict.retryAfterMs);
      let filters: StreamFilters;
      try {
        filters = parseFilters(raw, principal.tenantId, this.keys.isBootstrap(principal));
      } catch (err) {
        throw new SwarmError('VALIDATION_FAILED', (err as Error).message);
      }
      if (this.clients.size >= this.maxClients) throw new SwarmError('OVERLOADED', 'too many stream clients on this gateway');
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, principal, filters));
    } catch (err) {
      const retry = err instanceof SwarmError && err.code === 'RATE_LIMITED' ? Number(err.details?.retryAfterMs ?? 1000) : undefined;
      this.refuse(socket, err, retry !== undefined ? { 'retry-after': String(Math.max(1, Math.ceil(retry / 1000))) } : {});
    }
  }

  private accept(ws: WebSocket, principal: Principal, filters: StreamFilters): void {
    const client: Client = { ws, principal, filters, dropped: 0, alive: true };
    let open = true;
    ws.on('pong', () => (client.alive = true));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      open = false;
      this.clients.delete(client);
      this.gauge.set(this.clients.size);
    });
    ws.on('message', (data: RawData) => this.onClientMessage(client, data));
    // the hub consumes the EVENTS stream only while someone listens: once it runs (it starts from
    // this moment), every event published after `stream.ready` reaches this client
    void this.hub.ensureLive().then((live) => {
      if (!open) return;
      this.clients.add(client);
      this.gauge.set(this.clients.size);
      ws.send(frame('stream.ready', { tenantId: principal.tenantId, filters: { ...client.filters }, eventsLive: live }));
    });
  }

  private onClientMessage(c: Client, data: RawData): void {
    let msg: { type?: unknown; filters?: unknown };
    try {
      msg = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8')) as typeof msg;
    } catch {
      c.ws.send(frame('stream.error', { code: 'MALFORMED_JSON', message: 'messages must be JSON' }));
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      c.ws.send(frame('stream.error', { code: 'VALIDATION_FAILED', message: 'expected an object' }));
      return;
    }
    if (msg.type === 'ping') {
      c.ws.send(frame('pong', {}));
      return;
    }
    if (msg.type === 'subscribe' && typeof msg.filters === 'object' && msg.filters !== null && !Array.isArray(msg.filters)) {
      try {
        c.filters = parseFilters(msg.filters as Record<string, unknown>, c.principal.tenantId, this.keys.isBootstrap(c.principal));
        c.ws.send(frame('stream.ready', { tenantId: c.principal.tenantId, filters: { ...c.filters }, eventsLive: this.hub.live }));
      } catch (err) {
        const message = err instanceof FilterError ? err.message : 'invalid filters';
        c.ws.send(frame('stream.error', { code: 'VALIDATION_FAILED', message }));
      }
      return;
    }
    c.ws.send(
      frame('stream.error', { code: 'VALIDATION_FAILED', message: 'expected {"type":"subscribe","filters":{…}} or {"type":"ping"}' }),
    );
  }

  private broadcast(events: MeshEventDto[]): void {
    if (this.clients.size === 0) return;
    for (const e of events) {
      if (e.type === 'apikey.revoked') {
        this.closeRevoked((e.data as { keyId?: unknown }).keyId);
        continue;
      }
      let text: string | undefined;
      for (const c of this.clients) {
        if (c.ws.readyState !== 1 || !matches(c.filters, e)) continue;
        if (c.ws.bufferedAmount > this.maxBuffer) {
          c.dropped++;
          continue;
        }
        if (c.dropped > 0) {
          c.ws.send(frame('stream.dropped', { count: c.dropped }));
          c.dropped = 0;
        }
        text ??= JSON.stringify({ type: e.type, ts: e.ts, data: e.tenantId === '*' ? e.data : { ...e.data, tenantId: e.tenantId } });
        c.ws.send(text);
      }
    }
  }

  private closeRevoked(keyId: unknown): void {
    if (typeof keyId !== 'string') return;
    for (const c of this.clients) if (c.principal.keyId === keyId) c.ws.close(4401, 'API key revoked');
  }

  private ping(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }
}
