import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@swarm-mesh/agent-sdk';

/** What the status server shows. */
export interface StatusSource {
  /** JSON body of `/health`; `status` `ok` answers 200, anything else 503. */
  health(): { status: string } & Record<string, unknown>;
  /** Prometheus text of `/metrics`. */
  metrics(): string;
  /** Other routes (JSON in and out); undefined = 404. */
  route?(method: string, path: string, body: unknown): { status: number; body: unknown } | undefined;
}

const MAX_BODY_BYTES = 16 * 1024;

export interface StatusServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `/health` and `/metrics` (plain node:http; the demo has no other HTTP surface). */
export async function startStatusServer(host: string, port: number, source: StatusSource, logger: Logger): Promise<StatusServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method === 'GET' && (path === '/health' || path === '/api/v1/health')) {
        const body = source.health();
        res.writeHead(body.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      } else if (req.method === 'GET' && path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(source.metrics());
      } else if (source.route) {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_BODY_BYTES) chunks.push(c);
        });
        req.on('end', () => {
          let body: unknown = null;
          try {
            body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : null;
          } catch {
            body = undefined;
          }
          const out =
            size > MAX_BODY_BYTES
              ? { status: 413, body: { code: 'PAYLOAD_TOO_LARGE', message: `body over ${MAX_BODY_BYTES} bytes` } }
              : body === undefined
                ? { status: 400, body: { code: 'MALFORMED_JSON', message: 'body is not JSON' } }
                : (source.route!(req.method ?? 'GET', path ?? '/', body) ?? {
                    status: 404,
                    body: { code: 'ROUTE_NOT_FOUND', message: `no route for ${req.method} ${path}` },
                  });
          res.writeHead(out.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(out.body));
        });
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'ROUTE_NOT_FOUND', message: `no route for ${req.method} ${path}` }));
      }
    } catch (err) {
      logger.error('status request failed', { err });
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'INTERNAL', message: 'internal error' }));
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    port: actual,
    url: `http://${shownHost}:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** One Prometheus metric family. */
export function metricFamily(
  name: string,
  type: 'counter' | 'gauge',
  help: string,
  samples: Array<{ labels: Record<string, string>; value: number }>,
): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const s of samples) {
    const l = Object.entries(s.labels)
      .map(([k, v]) => `${k}="${label(v)}"`)
      .join(',');
    lines.push(`${name}${l ? `{${l}}` : ''} ${s.value}`);
  }
  return lines.join('\n') + '\n';
}
