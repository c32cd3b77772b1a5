/**
 * scripts/promote.mjs on copies of the real values files: an immutable image moves dev → staging →
 * prod as a three-line change of one file per step, and every unsafe move is refused (a skipped
 * environment, an image the previous environment does not run, a mutable tag). The promoted files
 * still pass `helm lint --strict`.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@swarm-mesh/testing';
import { CHART_DIR, type Environment, ENVIRONMENTS, helm } from './support/helm';

jest.setTimeout(10 * 60_000);

const SCRIPT = join(REPO_ROOT, 'scripts', 'promote.mjs');
const REPO = 'ghcr.io/swarm-mesh/swarm-mesh';
const DIGEST_A = `sha256:${'a1'.repeat(32)}`;
const DIGEST_B = `sha256:${'b2'.repeat(32)}`;

let dir: string;
let home: string;
let original: Record<Environment, string>;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function promote(...args: string[]): Run {
  const r = spawnSync(process.execPath, [SCRIPT, ...args, '--values-dir', dir], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const read = (env: Environment): string => readFileSync(join(dir, `values-${env}.yaml`), 'utf8');

function imageOf(env: Environment): { repository: string; tag: string; digest: string } {
  const block = /^image:\n((?:[ \t]+.*\n|\s*\n)*)/m.exec(read(env))?.[1] ?? '';
  const get = (k: string): string => {
    const raw = new RegExp(`^\\s+${k}:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim() ?? '?';
    return raw.replace(/^'(.*)'$/, '$1');
  };
  return { repository: get('repository'), tag: get('tag'), digest: get('digest') };
}

/** Lines that differ between two versions of a file (same line count expected). */
function changedLines(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b.length).toBe(a.length);
  return b.filter((line, i) => line !== a[i]);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'swarm-promote-'));
  for (const env of ENVIRONMENTS) copyFileSync(join(CHART_DIR, `values-${env}.yaml`), join(dir, `values-${env}.yaml`));
  original = { dev: read('dev'), staging: read('staging'), prod: read('prod') };
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'swarm-helm-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('promote.mjs', () => {
  it('moves an image dev → staging → prod, one small change to one file per step', async () => {
    const ref = `${REPO}:1.4.0@${DIGEST_A}`;
    const dev = promote('dev', ref);
    expect(dev).toMatchObject({ code: 0, stderr: '' });
    expect(dev.stdout).toContain(`promoted ${ref} from build to dev`);
    expect(imageOf('dev')).toEqual({ repository: REPO, tag: '1.4.0', digest: DIGEST_A });
    expect(changedLines(original.dev, read('dev'))).toEqual([`  tag: '1.4.0'`, `  digest: '${DIGEST_A}'`]);
    expect(read('staging')).toBe(original.staging);

    const staging = promote('staging');
    expect(staging).toMatchObject({ code: 0, stderr: '' });
    expect(staging.stdout).toContain(`from dev to staging`);
    expect(staging.stdout).toContain('git commit');
    expect(imageOf('staging')).toEqual(imageOf('dev'));
    expect(changedLines(original.staging, read('staging'))).toHaveLength(2);
    expect(read('prod')).toBe(original.prod);

    const prod = promote('prod', '--image', ref, '--json');
    expect(prod.code).toBe(0);
    expect(JSON.parse(prod.stdout)).toMatchObject({ action: 'promoted', target: 'prod', from: 'staging', image: ref });
    expect(imageOf('prod')).toEqual({ repository: REPO, tag: '1.4.0', digest: DIGEST_A });

    // promoting again changes nothing
    const again = promote('prod');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already runs');

    const status = promote('status', '--json');
    expect(JSON.parse(status.stdout)).toEqual({
      action: 'status',
      environments: ENVIRONMENTS.map((env) => ({ env, image: ref, immutable: true })),
    });

    // the promoted file is still a valid values file
    const lint = await helm(['lint', '--strict', CHART_DIR, '-f', join(dir, 'values-prod.yaml')], home);
    expect({ code: lint.code, out: lint.stdout.includes('0 chart(s) failed') }).toEqual({ code: 0, out: true });
    const tpl = await helm(['template', 'swarm-mesh', CHART_DIR, '-f', join(dir, 'values-prod.yaml')], home);
    expect(tpl.code).toBe(0);
    expect(tpl.stdout).toContain(`image: "${REPO}@${DIGEST_A}"`);
  });

  it('refuses to skip an environment', () => {
    expect(promote('dev', `${REPO}@${DIGEST_A}`).code).toBe(0);
    expect(promote('staging').code).toBe(0);
    expect(promote('prod').code).toBe(0);
    // a new build reaches dev only
    expect(promote('dev', `${REPO}:1.5.0@${DIGEST_B}`).code).toBe(0);

    const skip = promote('prod', '--from', 'dev');
    expect(skip.code).toBe(1);
    expect(skip.stderr).toMatch(/REFUSED: prod takes only what staging runs: promoting from dev would skip staging/);

    const notInStaging = promote('prod', '--image', `${REPO}:1.5.0@${DIGEST_B}`);
    expect(notInStaging.code).toBe(1);
    expect(notInStaging.stderr).toMatch(/REFUSED: staging does not run .*1\.5\.0.* promote it to staging first/);
    expect(imageOf('prod').digest).toBe(DIGEST_A);

    // prod keeps running what staging ran; after staging takes 1.5.0, prod may too
    expect(promote('staging', '--image', `${REPO}:1.5.0`).code).toBe(0);
    expect(promote('prod', '--image', `${REPO}@${DIGEST_B}`).code).toBe(0);
    expect(imageOf('prod')).toEqual({ repository: REPO, tag: '1.5.0', digest: DIGEST_B });
  });

  it.each([
    ['latest', `${REPO}:latest`],
    ['a branch name', `${REPO}:main`],
    ['a moving word', `${REPO}:stable`],
  ])('refuses a mutable tag (%s)', (_what, ref) => {
    const r = promote('dev', ref);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/REFUSED: refusing to promote .* can be moved to another build/);
    expect(read('dev')).toBe(original.dev);
  });

  it('accepts version and git-sha tags without a digest', () => {
    for (const tag of ['2.0.0-rc.1', 'v3.1.4', 'sha-1a2b3c4', '1.4.0-9f8e7d6c5b']) {
      const r = promote('dev', `${REPO}:${tag}`);
      expect({ tag, code: r.code, stderr: r.stderr }).toEqual({ tag, code: 0, stderr: '' });
      expect(imageOf('dev')).toEqual({ repository: REPO, tag, digest: '' });
    }
  });

  it('refuses to move on what the previous environment runs when that is mutable', () => {
    // someone hand-edited dev to a moving tag: staging must not take it
    const edited = original.dev.replace(/^(\s+tag:).*$/m, "$1 'nightly'").replace(/^(\s+digest:).*$/m, "$1 ''");
    writeFileSync(join(dir, 'values-dev.yaml'), edited);
    const r = promote('staging');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/REFUSED: refusing to promote .*:nightly to staging/);
    expect(read('staging')).toBe(original.staging);
  });

  it('--dry-run writes nothing; bad usage exits 2', () => {
    const dry = promote('dev', `${REPO}:1.9.0`, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would promote');
    expect(read('dev')).toBe(original.dev);
    expect(promote('qa').code).toBe(2);
    expect(promote('dev').code).toBe(2);
    expect(promote('dev', 'not a ref').code).toBe(2);
    expect(promote('staging', `${REPO}:1.0.0`).code).toBe(2);
  });
});
