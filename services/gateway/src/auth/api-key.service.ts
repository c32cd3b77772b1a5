import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ApiKeyEvents, DatabaseUnavailableError } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { DATA_SOURCE, LOGGER, MESH_BUS, SERVICE_CONFIG, type ServiceConfig } from '@swarm-mesh/service-kit';
import type { Logger } from '@swarm-mesh/telemetry';
import type { DataSource } from 'typeorm';
import type { GatewayEnv } from '../gateway.env';
import { timingSafeEqual } from 'node:crypto';
import { apiKeyPrefix, sha256, verifyApiKeyHash } from './api-key';
import { isRole, type Principal } from './principal';

interface CacheEntry {
  principal: Principal | null;
  expiresAt: number;
}

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  role: string;
  key_hash: string;
  revoked_at: Date | null;
  rate_limit: number | null;
}

const MAX_CACHE_ENTRIES = 10_000;
/** Unknown or wrong keys are remembered for at most this long (spares Postgres from key-guessing). */
const NEGATIVE_TTL_MS = 5_000;

/**
 * Resolves an API key to a Principal. The bootstrap admin key (SWARM_ADMIN_API_KEY) is a pure
 * constant-time comparison. Stored keys (`gateway.api_keys`) are looked up by prefix, their hash
 * compared in constant time, revoked ones refused; a verified key is trusted from memory for
 * GATEWAY_API_KEY_CACHE_TTL_MS, so the hot path makes no database round trip and a revocation
 * takes effect at the next lookup after the TTL. Concurrent first uses of a key share one query.
 */
@Injectable()
export class ApiKeyService implements OnModuleInit {
  private readonly bootstrap: Principal = { tenantId: 'default', role: 'admin', keyId: 'bootstrap', name: 'bootstrap admin key' };
  /** sha256 of SWARM_ADMIN_API_KEY: one hash of the presented key serves both the comparison and the cache. */
  private readonly adminDigest: Buffer | undefined;
  private readonly ttlMs: number;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<Principal | null>>();

  constructor(
    @Inject(SERVICE_CONFIG) config: ServiceConfig<GatewayEnv>,
    @Inject(DATA_SOURCE) private readonly db: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(MESH_BUS) private readonly bus: MeshBus,
  ) {
    const admin = config.extra.SWARM_ADMIN_API_KEY;
    this.adminDigest = admin === undefined ? undefined : sha256(admin);
    this.ttlMs = config.extra.GATEWAY_API_KEY_CACHE_TTL_MS;
  }

  /** Every replica drops its cache when any replica revokes or rotates a key. */
  onModuleInit(): void {
    this.bus.subscribe(ApiKeyEvents.changed, () => this.invalidate());
  }

  /** The principal of a presented key, or null when it is unknown, wrong or revoked. */
  async authenticate(key: string): Promise<Principal | null> {
    const keyDigest = sha256(key);
    // constant time: both sides are 32-byte digests, so neither content nor length leaks
    if (this.adminDigest !== undefined && timingSafeEqual(keyDigest, this.adminDigest)) return this.bootstrap;
    const prefix = apiKeyPrefix(key);
    if (!prefix) return null;
    const digest = keyDigest.toString('base64');
    const now = Date.now();
    const hit = this.cache.get(digest);
    if (hit && hit.expiresAt > now) return hit.principal;
    let pending = this.inflight.get(digest);
    if (!pending) {
      pending = this.lookup(key, prefix)
        .then((principal) => {
          this.remember(digest, principal);
          return principal;
        })
        .finally(() => this.inflight.delete(digest));
      this.inflight.set(digest, pending);
    }
    return pending;
  }

  /** Forgets every cached key (key management calls it after a revocation to apply it at once). */
  invalidate(): void {
    this.cache.clear();
  }

  /** The platform tenant: the bootstrap admin key's (`default`), whose keys run the mesh itself (runtime flags). */
  get platformTenant(): string {
    return this.bootstrap.tenantId;
  }

  /** Whether a principal is the bootstrap admin key (the platform operator: may act across tenants). */
  isBootstrap(p: Principal): boolean {
    return p === this.bootstrap || p.keyId === 'bootstrap';
  }

  private remember(digest: string, principal: Principal | null): void {
    const ttl = principal ? this.ttlMs : Math.min(this.ttlMs, NEGATIVE_TTL_MS);
    if (ttl <= 0) return;
    if (this.cache.size >= MAX_CACHE_ENTRIES) {
      // evict the oldest tenth (Map keeps insertion order)
      let n = Math.ceil(MAX_CACHE_ENTRIES / 10);
      for (const k of this.cache.keys()) {
        this.cache.delete(k);
        if (--n <= 0) break;
      }
    }
    this.cache.delete(digest);
    this.cache.set(digest, { principal, expiresAt: Date.now() + ttl });
  }

  private async lookup(key: string, prefix: string): Promise<Principal | null> {
    let rows: ApiKeyRow[];
    try {
      rows = await this.db.query<ApiKeyRow[]>(
        'SELECT id, tenant_id, name, role, key_hash, revoked_at, rate_limit FROM gateway.api_keys WHERE prefix = $1',
        [prefix],
      );
    } catch (err) {
      this.logger.error('api key lookup failed', { err });
      throw new DatabaseUnavailableError('cannot verify the API key: the gateway database is unavailable');
    }
    const row = rows[0];
    if (!row || row.revoked_at !== null || !isRole(row.role) || !verifyApiKeyHash(key, row.key_hash)) return null;
    this.db.query('UPDATE gateway.api_keys SET last_used_at = now() WHERE id = $1', [row.id]).catch((err: unknown) => {
      this.logger.warn('api key last_used_at update failed', { err });
    });
    return { tenantId: row.tenant_id, role: row.role, keyId: row.id, name: row.name, rateLimit: row.rate_limit };
  }
}
