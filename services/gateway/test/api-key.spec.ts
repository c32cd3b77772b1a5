import { apiKeyPrefix, generateApiKey, hashApiKey, presentedKey, safeEqual, verifyApiKeyHash } from '../src/auth/api-key';
import { roleAllows } from '../src/auth/principal';

describe('API keys', () => {
  it('generates sm_<prefix8>_<secret> keys whose prefix and sha256 hash verify', () => {
    const { key, prefix, hash } = generateApiKey();
    expect(key).toMatch(/^sm_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    expect(apiKeyPrefix(key)).toBe(prefix);
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(verifyApiKeyHash(key, hash)).toBe(true);
    expect(verifyApiKeyHash(`${key}x`, hash)).toBe(false);
    expect(generateApiKey().key).not.toBe(key);
  });

  it('verifies scrypt hashes and refuses unknown or broken formats', () => {
    const { key } = generateApiKey();
    const hash = hashApiKey(key, 'scrypt');
    expect(hash).toMatch(/^scrypt:16384:8:1:/);
    expect(verifyApiKeyHash(key, hash)).toBe(true);
    expect(verifyApiKeyHash(generateApiKey().key, hash)).toBe(false);
    expect(verifyApiKeyHash(key, 'md5:abc')).toBe(false);
    expect(verifyApiKeyHash(key, 'sha256:abcd')).toBe(false);
    expect(verifyApiKeyHash(key, 'scrypt:1:2')).toBe(false);
  });

  it('reads the key from Authorization: Bearer or x-api-key', () => {
    expect(presentedKey({ authorization: 'Bearer abc' })).toBe('abc');
    expect(presentedKey({ authorization: 'bearer   abc ' })).toBe('abc');
    expect(presentedKey({ authorization: 'Basic abc' })).toBeUndefined();
    expect(presentedKey({ authorization: 'Bearer a b' })).toBeUndefined();
    expect(presentedKey({ 'x-api-key': ' k ' })).toBe('k');
    expect(presentedKey({ 'x-api-key': '' })).toBeUndefined();
    expect(presentedKey({})).toBeUndefined();
    expect(apiKeyPrefix('sm_ABCDEFGH_0123456789abcdef')).toBeUndefined();
    expect(apiKeyPrefix('sm_abcdefgh_short')).toBeUndefined();
  });

  it('compares in constant time regardless of length', () => {
    expect(safeEqual('a', 'a')).toBe(true);
    expect(safeEqual('a', 'ab')).toBe(false);
  });

  it('orders roles viewer < operator < admin', () => {
    expect(roleAllows('viewer', 'viewer')).toBe(true);
    expect(roleAllows('viewer', 'operator')).toBe(false);
    expect(roleAllows('operator', 'operator')).toBe(true);
    expect(roleAllows('admin', 'operator')).toBe(true);
    expect(roleAllows('operator', 'admin')).toBe(false);
  });
});
