import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { generateApiKey } from '../src/auth/api-key';
import type { Role } from '../src/auth/principal';

/** A response as the tests look at it. */
export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON of any route
  text: string;
}

export interface CallOptions {
  /** Sent as `Authorization: Bearer <key>` unless `header` says otherwise. */
  key?: string;
  header?: 'bearer' | 'x-api-key';
  /** JSON-encoded unless `raw` is given. */
  body?: unknown;
  /** Sent verbatim with content-type application/json. */
  raw?: string;
  headers?: Record<string, string>;
}

/** Calls the gateway at `baseUrl` and parses the JSON answer. */
export async function call(baseUrl: string, method: string, path: string, opts: CallOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key !== undefined) {
    if (opts.header === 'x-api-key') headers['x-api-key'] = opts.key;
    else headers.authorization = `Bearer ${opts.key}`;
  }
  let payload: string | undefined;
  if (opts.raw !== undefined) payload = opts.raw;
  else if (opts.body !== undefined) payload = JSON.stringify(opts.body);
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** Inserts a stored key into gateway.api_keys and returns the key string. */
export async function insertApiKey(
  pg: Client,
  opts: { tenantId: string; role: Role; name?: string; revoked?: boolean; hash?: (key: string) => string },
): Promise<{ key: string; id: string; prefix: string }> {
  const { key, prefix, hash } = generateApiKey();
  const id = randomUUID();
  await pg.query(
    `INSERT INTO gateway.api_keys (id, tenant_id, name, role, prefix, key_hash, revoked_at)
     VALUES ($1, $2, $3, $4, $5, $6, ${opts.revoked ? 'now()' : 'NULL'})`,
    [id, opts.tenantId, opts.name ?? `${opts.role} key`, opts.role, prefix, opts.hash ? opts.hash(key) : hash],
  );
  return { key, id, prefix };
}
