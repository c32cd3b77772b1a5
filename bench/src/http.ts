/**
 * The bench's REST clients: a lean keep-alive HTTP/1.1 client on raw sockets (default, so the
 * bench's own CPU — the load generator shares the two cores with the mesh — stays small, as wrk's
 * would) and the SDK's SwarmClient (`--submit sdk`, Node's fetch).
 */
import { SwarmClient } from '@swarm-mesh/agent-sdk';
import type { SubmitTaskDto } from '@swarm-mesh/contracts';
import net from 'node:net';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 500)}`);
  }
}

/** The part of a submit reply the bench uses (full TaskDto or a slimmer batch item). */
export interface Submitted {
  id: string;
}

/** Submits tasks; both implementations resolve once the gateway answered 201. */
export interface TaskSubmitter {
  submitBatch(tasks: SubmitTaskDto[]): Promise<Submitted[]>;
  submitOne(task: SubmitTaskDto): Promise<Submitted>;
  getJson<T>(path: string): Promise<{ status: number; body: T | undefined }>;
  close(): void;
}

interface Reply {
  status: number;
  text: string;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const REQUEST_TIMEOUT_MS = 120_000;

/**
 * One keep-alive connection carrying one request at a time (no pipelining). Parses just what the
 * gateway sends: a status line, headers with Content-Length (or chunked transfer encoding), a body.
 */
class Connection {
  private readonly socket: net.Socket;
  private chunks: Buffer[] = [];
  private size = 0;
  private headerEnd = -1;
  private status = 0;
  private bodyLength = -1;
  private chunked = false;
  private current: { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  closed = false;

  constructor(host: string, port: number) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  send(head: string, body: Buffer | undefined): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)), REQUEST_TIMEOUT_MS);
      this.current = { resolve, reject, timer };
      this.socket.write(body ? Buffer.concat([Buffer.from(head), body]) : head);
    });
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.size += d.length;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [buf];
    if (this.headerEnd < 0) {
      this.headerEnd = buf.indexOf(CRLF2);
      if (this.headerEnd < 0) return;
      const head = buf.toString('latin1', 0, this.headerEnd);
      this.status = Number(head.slice(9, 12));
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      this.chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
      this.bodyLength = len ? Number(len[1]) : this.chunked ? -1 : 0;
    }
    const start = this.headerEnd + 4;
    let text: string | undefined;
    if (this.chunked) {
      text = dechunk(buf, start);
      if (text === undefined) return;
    } else {
      if (this.size < start + this.bodyLength) return;
      text = buf.toString('utf8', start, start + this.bodyLength);
    }
    const done = this.current;
    this.chunks = [];
    this.size = 0;
    this.headerEnd = -1;
    this.current = undefined;
    if (done) {
      clearTimeout(done.timer);
      done.resolve({ status: this.status, text });
    }
  }

  private fail(err: Error): void {
    this.closed = true;
    const c = this.current;
    this.current = undefined;
    if (c) {
      clearTimeout(c.timer);
      c.reject(err);
    }
    this.socket.destroy();
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** The body of a complete chunked message from `start`, or undefined while it is incomplete. */
function dechunk(buf: Buffer, start: number): string | undefined {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const n = parseInt(buf.toString('latin1', at, eol), 16);
    if (n === 0) return buf.length >= eol + 4 ? Buffer.concat(parts).toString('utf8') : undefined;
    if (buf.length < eol + 2 + n + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + n));
    at = eol + 2 + n + 2;
  }
}

/** Most connections to the gateway at once (node:http's agent had the same cap); further requests wait for a free one. */
const MAX_CONNECTIONS = 256;

export class RestSubmitter implements TaskSubmitter {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: Array<(c: Connection) => void> = [];
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
  ) {
    const base = new URL(baseUrl);
    this.host = base.hostname;
    this.port = Number(base.port || 80);
    this.hostHeader = base.host;
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const head =
      `${method} /api/v1${path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\nAuthorization: Bearer ${this.apiKey}\r\n` +
      `Accept: application/json\r\nConnection: keep-alive\r\n` +
      (payload ? `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n` : '') +
      '\r\n';
    const conn = await this.acquire();
    try {
      const reply = await conn.send(head, payload);
      this.release(conn);
      return reply;
    } catch (err) {
      this.all.delete(conn);
      const next = this.waiting.shift();
      if (next) next(this.open());
      throw new Error(`${method} ${path}: ${(err as Error).message}`);
    }
  }

  private open(): Connection {
    const conn = new Connection(this.host, this.port);
    this.all.add(conn);
    return conn;
  }

  private acquire(): Promise<Connection> {
    let conn = this.idle.pop();
    while (conn?.closed) {
      this.all.delete(conn);
      conn = this.idle.pop();
    }
    if (conn) return Promise.resolve(conn);
    if (this.all.size < MAX_CONNECTIONS) return Promise.resolve(this.open());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(conn: Connection): void {
    const next = this.waiting.shift();
    if (next) next(conn);
    else this.idle.push(conn);
  }

  async submitBatch(tasks: SubmitTaskDto[]): Promise<Submitted[]> {
    const r = await this.call('POST', '/tasks/batch', { tasks });
    if (r.status !== 201 && r.status !== 200) throw new HttpError(r.status, r.text, 'POST /tasks/batch');
    return (JSON.parse(r.text) as { tasks: Submitted[] }).tasks;
  }

  async submitOne(task: SubmitTaskDto): Promise<Submitted> {
    const r = await this.call('POST', '/tasks', task);
    if (r.status !== 201 && r.status !== 200) throw new HttpError(r.status, r.text, 'POST /tasks');
    // a TaskDto starts with its id: no need to parse the whole task
    if (r.text.startsWith('{"id":"') && r.text[43] === '"') return { id: r.text.slice(7, 43) };
    return JSON.parse(r.text) as Submitted;
  }

  async getJson<T>(path: string): Promise<{ status: number; body: T | undefined }> {
    const r = await this.call('GET', path);
    let body: T | undefined;
    try {
      body = JSON.parse(r.text) as T;
    } catch {
      body = undefined;
    }
    return { status: r.status, body };
  }

  close(): void {
    for (const c of this.all) c.close();
    this.all.clear();
    this.idle.length = 0;
  }
}

/** The SDK client: same calls through SwarmClient (retries off, so a failure is visible). */
export class SdkSubmitter implements TaskSubmitter {
  private readonly client: SwarmClient;
  private readonly rest: RestSubmitter;

  constructor(baseUrl: string, apiKey: string) {
    this.client = new SwarmClient({ url: baseUrl, apiKey, retries: 0, timeoutMs: 120_000 });
    this.rest = new RestSubmitter(baseUrl, apiKey);
  }

  async submitBatch(tasks: SubmitTaskDto[]): Promise<Submitted[]> {
    return (await this.client.submitBatch(tasks)).map((t) => ({ id: t.id }));
  }

  async submitOne(task: SubmitTaskDto): Promise<Submitted> {
    return { id: (await this.client.submit(task)).id };
  }

  getJson<T>(path: string): Promise<{ status: number; body: T | undefined }> {
    return this.rest.getJson<T>(path);
  }

  close(): void {
    this.rest.close();
  }
}
