/**
 * The bench's REST clients: a lean keep-alive `node:http` client (default, so the bench's own
 * CPU stays small) and the SDK's SwarmClient (`--submit sdk`, Node's fetch).
 */
import { SwarmClient } from '@swarm-mesh/agent-sdk';
import type { SubmitTaskDto } from '@swarm-mesh/contracts';
import http from 'node:http';

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

export class RestSubmitter implements TaskSubmitter {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 });
  private readonly base: URL;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
  ) {
    this.base = new URL(baseUrl);
  }

  private call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          host: this.base.hostname,
          port: this.base.port || 80,
          method,
          path: `/api/v1${path}`,
          headers: {
            authorization: `Bearer ${this.apiKey}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
          timeout: 120_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 120 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async submitBatch(tasks: SubmitTaskDto[]): Promise<Submitted[]> {
    const r = await this.call('POST', '/tasks/batch', { tasks });
    if (r.status !== 201 && r.status !== 200) throw new HttpError(r.status, r.text, 'POST /tasks/batch');
    return (JSON.parse(r.text) as { tasks: Submitted[] }).tasks;
  }

  async submitOne(task: SubmitTaskDto): Promise<Submitted> {
    const r = await this.call('POST', '/tasks', task);
    if (r.status !== 201 && r.status !== 200) throw new HttpError(r.status, r.text, 'POST /tasks');
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
    this.agent.destroy();
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
