/**
 * scripts/backup.mjs against real Postgres: every service's schema migrated into a temporary
 * database and filled with rows of awkward types, backed up, restored into another temporary
 * database, and checked (row counts, row checksums, sequences, migrations). Damage to the backup
 * or to the restored data is caught, and a restore never overwrites a schema unless told to.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { MigrationInterface } from 'typeorm';
import { SERVICE_NAMES, SERVICE_SCHEMAS, type ServiceName } from '@swarm-mesh/contracts';
import { openServiceDataSource } from '@swarm-mesh/persistence';
import { createTestDatabase, REPO_ROOT, type TestDatabase } from '@swarm-mesh/testing';

jest.setTimeout(180_000);

const SCRIPT = join(REPO_ROOT, 'scripts', 'backup.mjs');

type MigrationClass = new () => MigrationInterface;

/** The migration classes in services/<name>/src/migrations, oldest first. */
function migrationsOf(name: ServiceName): MigrationClass[] {
  const dir = join(REPO_ROOT, 'services', name, 'src', 'migrations');
  const out: MigrationClass[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort()) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(join(dir, file)) as Record<string, unknown>;
    for (const v of Object.values(mod)) {
      if (typeof v === 'function' && typeof (v.prototype as { up?: unknown })?.up === 'function') out.push(v as MigrationClass);
    }
  }
  return out;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  json: { ok: boolean; problems?: string[]; error?: string; [k: string]: unknown };
}

function backupScript(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: Run['json'];
      try {
        json = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Run['json'];
      } catch {
        json = { ok: false, error: `no JSON on stdout: ${stdout}` };
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

let source: TestDatabase;
let target: TestDatabase;
let src: Client;
let dir: string;

beforeAll(async () => {
  source = await createTestDatabase({ prefix: 'swarm_bk_src' });
  target = await createTestDatabase({ prefix: 'swarm_bk_dst' });
  dir = mkdtempSync(join(tmpdir(), 'swarm-backup-'));
  for (const s of SERVICE_NAMES) {
    const ds = await openServiceDataSource({
      url: source.url,
      schema: SERVICE_SCHEMAS[s],
      entities: [],
      migrations: migrationsOf(s),
      poolMax: 2,
    });
    await ds.destroy();
  }
  src = new Client({ connectionString: source.url });
  await src.connect();
  // rows in a real table, and a table of awkward types (floats, json, bytea, time zones, NULLs, unicode)
  for (let i = 0; i < 25; i++) {
    await src.query(
      'INSERT INTO gateway.api_keys (id, tenant_id, name, role, prefix, key_hash, created_by) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6)',
      [`tenant-${i % 3}`, `key ${i} — ünïcødé`, 'admin', `p${String(i).padStart(7, '0')}`, `sha256:${i}`, 'backup-test'],
    );
  }
  await src.query(`CREATE TABLE coordinator.backup_probe (
    id bigserial PRIMARY KEY, f float8, n numeric(30, 10), j jsonb, b bytea, at timestamptz, note text)`);
  await src.query(`INSERT INTO coordinator.backup_probe (f, n, j, b, at, note)
    SELECT g / 7.0, g * 1.0000000001, jsonb_build_object('g', g, 'tags', jsonb_build_array('a', g % 5)), decode(md5(g::text), 'hex'),
           '2026-01-01T00:00:00Z'::timestamptz + g * interval '1 minute', CASE WHEN g % 10 = 0 THEN NULL ELSE 'row ' || g || ' ✓' END
      FROM generate_series(1, 2000) g`);
});

afterAll(async () => {
  await src?.end().catch(() => {});
  await source?.drop();
  await target?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('scripts/backup.mjs', () => {
  it('knows the schema of every service', () => {
    const text = readFileSync(SCRIPT, 'utf8');
    const listed = /export const SCHEMAS = \[([^\]]*)\]/
      .exec(text)?.[1]
      ?.match(/'([a-z]+)'/g)
      ?.map((s) => s.slice(1, -1));
    expect(listed).toEqual(SERVICE_NAMES.map((s) => SERVICE_SCHEMAS[s]));
  });

  it('backs up every schema from one snapshot, with row counts, checksums and migrations', async () => {
    const r = await backupScript('backup', '--database-url', source.url, '--out', join(dir, 'b1'));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const manifest = JSON.parse(readFileSync(join(dir, 'b1', 'manifest.json'), 'utf8')) as {
      schemas: Record<
        string,
        { file: string; sha256: string; tables: Record<string, { rows: number; checksum: string }>; migrations: Array<{ name: string }> }
      >;
    };
    expect(Object.keys(manifest.schemas)).toEqual(['gateway', 'coordinator', 'resources', 'conflicts', 'performance']);
    for (const s of SERVICE_NAMES) {
      const m = manifest.schemas[SERVICE_SCHEMAS[s]]!;
      expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(m.migrations.map((x) => x.name)).toEqual(migrationsOf(s).map((c) => new c().name ?? c.name));
    }
    expect(manifest.schemas.gateway!.tables.api_keys!.rows).toBe(25);
    expect(manifest.schemas.coordinator!.tables.backup_probe).toEqual({ rows: 2000, checksum: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });

  it('restores into another database and proves it identical', async () => {
    const r = await backupScript('restore', join(dir, 'b1'), '--database-url', target.url);
    expect({ code: r.code, stderr: r.stderr, problems: r.json.problems }).toEqual({ code: 0, stderr: '', problems: [] });
    const dst = new Client({ connectionString: target.url });
    await dst.connect();
    try {
      const q = 'SELECT id, f, n::text, j, encode(b, $1) AS b, at, note FROM coordinator.backup_probe ORDER BY id';
      expect((await dst.query(q, ['hex'])).rows).toEqual((await src.query(q, ['hex'])).rows);
      const keys = 'SELECT * FROM gateway.api_keys ORDER BY prefix';
      expect((await dst.query(keys)).rows).toEqual((await src.query(keys)).rows);
      // the restored sequence continues where the source stopped
      const next = await dst.query<{ id: string }>("INSERT INTO coordinator.backup_probe (note) VALUES ('after') RETURNING id");
      expect(next.rows[0]!.id).toBe('2001');
    } finally {
      await dst.end();
    }
  });

  it('refuses to overwrite existing schemas unless --clean', async () => {
    const refused = await backupScript('restore', join(dir, 'b1'), '--database-url', target.url);
    expect(refused.code).toBe(1);
    expect(refused.json.error).toMatch(/already has schema\(s\) gateway, coordinator, resources, conflicts, performance.*--clean/);
    const clean = await backupScript('restore', join(dir, 'b1'), '--database-url', target.url, '--clean');
    expect({ code: clean.code, problems: clean.json.problems }).toEqual({ code: 0, problems: [] });
  });

  it('verify names what differs: changed rows, lost rows, a lost migration', async () => {
    expect((await backupScript('verify', join(dir, 'b1'), '--database-url', target.url)).code).toBe(0);
    const dst = new Client({ connectionString: target.url });
    await dst.connect();
    try {
      await dst.query("UPDATE coordinator.backup_probe SET note = 'tampered' WHERE id = 17");
      await dst.query('DELETE FROM gateway.api_keys WHERE prefix = $1', ['p0000003']);
      await dst.query('DELETE FROM conflicts.migrations WHERE id = (SELECT max(id) FROM conflicts.migrations)');
    } finally {
      await dst.end();
    }
    const r = await backupScript('verify', join(dir, 'b1'), '--database-url', target.url);
    expect(r.code).toBe(1);
    expect(r.json.problems).toEqual(
      expect.arrayContaining([
        'coordinator.backup_probe: row checksum differs (same count, different content)',
        'gateway.api_keys: 24 rows, expected 25',
        expect.stringMatching(/^conflicts: migrations differ/),
      ]),
    );
  });

  it('a damaged backup file restores nothing', async () => {
    const file = join(dir, 'b1', 'resources.dump');
    const bytes = readFileSync(file);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10]! + 1) % 256;
    writeFileSync(file, bytes);
    const fresh = await createTestDatabase({ prefix: 'swarm_bk_dmg' });
    try {
      const r = await backupScript('restore', join(dir, 'b1'), '--database-url', fresh.url);
      expect(r.code).toBe(1);
      expect(r.json.error).toMatch(/resources\.dump is damaged/);
      const c = new Client({ connectionString: fresh.url });
      await c.connect();
      const schemas = await c.query("SELECT nspname FROM pg_namespace WHERE nspname IN ('gateway', 'coordinator', 'resources')");
      await c.end();
      expect(schemas.rowCount).toBe(0);
    } finally {
      await fresh.drop();
    }
  });
});
