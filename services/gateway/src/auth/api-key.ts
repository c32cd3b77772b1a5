import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * API key format: `sm_<prefix>_<secret>`: an 8-character lowercase alphanumeric prefix (stored in
 * clear, unique, used to find the row) and a base64url secret. The stored `key_hash` is
 * `sha256:<hex>` of the whole key (keys are 190+ random bits, so a fast hash is enough) or
 * `scrypt:<N>:<r>:<p>:<salt b64url>:<hash b64url>`.
 */
export const API_KEY_RE = /^sm_([a-z0-9]{8})_([A-Za-z0-9_-]{16,256})$/;

const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** The prefix of a well-formed stored-key string, or undefined. */
export function apiKeyPrefix(key: string): string | undefined {
  return API_KEY_RE.exec(key)?.[1];
}

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** `sha256:<hex>` (default) or `scrypt:…` hash of a key, for `gateway.api_keys.key_hash`. */
export function hashApiKey(key: string, algorithm: 'sha256' | 'scrypt' = 'sha256'): string {
  if (algorithm === 'sha256') return `sha256:${sha256(key).toString('hex')}`;
  const salt = randomBytes(16);
  const [N, r, p] = [16384, 8, 1];
  const hash = scryptSync(key, salt, 32, { N, r, p });
  return `scrypt:${N}:${r}:${p}:${salt.toString('base64url')}:${hash.toString('base64url')}`;
}

/** Constant-time check of a key against a stored hash; false for an unknown hash format. */
export function verifyApiKeyHash(key: string, stored: string): boolean {
  if (stored.startsWith('sha256:')) {
    const expected = Buffer.from(stored.slice(7), 'hex');
    return expected.length === 32 && timingSafeEqual(sha256(key), expected);
  }
  if (stored.startsWith('scrypt:')) {
    const [, n, r, p, salt, hash] = stored.split(':');
    if (!n || !r || !p || !salt || !hash) return false;
    const expected = Buffer.from(hash, 'base64url');
    if (expected.length === 0) return false;
    try {
      const actual = scryptSync(key, Buffer.from(salt, 'base64url'), expected.length, {
        N: Number(n),
        r: Number(r),
        p: Number(p),
        maxmem: 256 * 1024 * 1024,
      });
      return timingSafeEqual(actual, expected);
    } catch {
      return false;
    }
  }
  return false;
}

/** Constant-time string equality (hashes both sides, so lengths do not leak either). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** A new random key (256 random bits after the prefix) with its prefix and hash (for key management and tests). */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const bytes = randomBytes(8);
  let prefix = '';
  for (const b of bytes) prefix += PREFIX_ALPHABET[b % PREFIX_ALPHABET.length];
  const key = `sm_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashApiKey(key) };
}

/** The key presented on a request: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
    if (m) return m[1];
  }
  const x = headers['x-api-key'];
  if (typeof x === 'string' && x.trim() !== '') return x.trim();
  return undefined;
}
