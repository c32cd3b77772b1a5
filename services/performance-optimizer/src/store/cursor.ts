import { InvalidCursorError } from '@swarm-mesh/contracts';

/** Keyset cursor over (time, id), newest first: opaque base64url of `<iso>|<uuid>`. */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { at: string; id: string } {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const [at, id] = raw.split('|');
  if (!at || !id || !Number.isFinite(Date.parse(at)) || !/^[0-9a-f-]{36}$/i.test(id)) throw new InvalidCursorError(cursor);
  return { at, id };
}
