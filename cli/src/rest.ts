import { SwarmApiError } from '@swarm-mesh/agent-sdk';

/** A JSON call to the gateway for the routes the SDK client does not wrap (keys, flags, audit, alerts). */
export type RestCall = <T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  query?: Record<string, string | number | boolean | undefined>,
) => Promise<T>;

export function restClient(url: string, apiKey: string | undefined, fetchFn: typeof fetch = fetch): RestCall {
  return async <T>(
    method: string,
    path: string,
    body?: unknown,
    query: Record<string, string | number | boolean | undefined> = {},
  ): Promise<T> => {
    const qs = Object.entries(query)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const headers: Record<string, string> = { accept: 'application/json' };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetchFn(`${url.replace(/\/$/, '')}/api/v1${path}${qs ? `?${qs}` : ''}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      throw new SwarmApiError(0, 'CONNECTION_FAILED', `cannot reach ${url}: ${cause?.code ?? (err as Error).message}`, { url });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const traceId = res.headers.get('x-trace-id') ?? undefined;
    if (res.ok) return json as T;
    const e = json as { code?: unknown; message?: unknown; details?: unknown } | undefined;
    const details = typeof e?.details === 'object' && e.details !== null ? (e.details as Record<string, unknown>) : {};
    if (typeof e?.code === 'string' && typeof e.message === 'string')
      throw new SwarmApiError(res.status, e.code, e.message, details, traceId);
    throw new SwarmApiError(res.status, 'HTTP_ERROR', `${method} ${path}: HTTP ${res.status}`, {}, traceId);
  };
}
