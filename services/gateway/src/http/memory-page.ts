import { InvalidCursorError } from '@swarm-mesh/contracts';
import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { QueryInt } from './query-params';

/** Most items a page of an in-memory list holds, and its default (the whole list, for small ones). */
export const MEMORY_PAGE_MAX = 500;

/**
 * `?limit=&cursor=` of lists the gateway pages itself: small collections a service answers whole
 * (queue depths, flags, policies, baselines). Subclassed by routes with more query parameters.
 */
export class MemoryPageQuery {
  /** Default and most: 500. */
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(MEMORY_PAGE_MAX)
  limit?: number;

  /** `nextCursor` of the previous page. */
  @IsOptional()
  @IsString()
  @Length(1, 500)
  cursor?: string;
}

export interface MemoryPage<T> {
  items: T[];
  nextCursor: string | null;
}

const CURSOR_TAG = 'k';

function encodeKeyCursor(key: string): string {
  return Buffer.from(JSON.stringify([CURSOR_TAG, key])).toString('base64url');
}

function decodeKeyCursor(cursor: string): string {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && v[0] === CURSOR_TAG && typeof v[1] === 'string') return v[1];
  } catch {
    // fall through
  }
  throw new InvalidCursorError(cursor);
}

/**
 * One page of a list held in memory, in ascending (or, with `descending`, descending) order of
 * `keyOf` (unique per item): the cursor names the last key returned, so items added or removed
 * between pages neither repeat nor shift the rest (keyset, as the database-backed lists page).
 */
export function memoryPage<T>(
  all: readonly T[],
  keyOf: (item: T) => string,
  q: { limit?: number; cursor?: string },
  opts: { descending?: boolean; defaultLimit?: number } = {},
): MemoryPage<T> {
  const limit = q.limit ?? opts.defaultLimit ?? MEMORY_PAGE_MAX;
  const after = q.cursor === undefined ? undefined : decodeKeyCursor(q.cursor);
  const sign = opts.descending ? -1 : 1;
  const keyed = all.map((item) => ({ key: keyOf(item), item }));
  keyed.sort((a, b) => sign * (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const rest = after === undefined ? keyed : keyed.filter((e) => (opts.descending ? e.key < after : e.key > after));
  const page = rest.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page.map((e) => e.item), nextCursor: rest.length > limit && last ? encodeKeyCursor(last.key) : null };
}
