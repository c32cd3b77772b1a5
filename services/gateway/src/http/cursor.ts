import { InvalidCursorError } from '@swarm-mesh/contracts';

/** Keyset cursor of the gateway's own lists: the last row's time and id (newest-first order). */
export interface TimeCursor {
  at: string;
  id: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(at: Date | string, id: string): string {
  const iso = typeof at === 'string' ? at : at.toISOString();
  return Buffer.from(JSON.stringify([iso, id])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): TimeCursor | undefined {
  if (cursor === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') {
      const [at, id] = v as [string, string];
      if (UUID_RE.test(id) && !Number.isNaN(Date.parse(at))) return { at, id };
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError(cursor);
}

/** ISO string of a timestamp column (or null). */
export function iso(v: Date | string | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  return (typeof v === 'string' ? new Date(v) : v).toISOString();
}
