import { randomBytes } from 'node:crypto';

const PREFIX_RE = /^[a-z][a-z0-9_]{0,22}$/;

/**
 * A short random namespace (`t` + 8 hex characters by default), valid for SWARM_NAMESPACE
 * (`^[a-z][a-z0-9_]{0,31}$`). One per test file: it prefixes subjects, streams, consumers,
 * KV buckets and queue groups, so concurrent test files and a running dev system never meet.
 */
export function randomNamespace(prefix = 't'): string {
  if (!PREFIX_RE.test(prefix)) throw new Error(`invalid namespace prefix "${prefix}": expected ^[a-z][a-z0-9_]{0,22}$`);
  return `${prefix}${randomBytes(4).toString('hex')}`;
}
