/**
 * The Helm chart under deploy/swarm-mesh, checked with the real helm (pinned, installed from the Go
 * module proxy by scripts/tools.sh): `helm lint --strict` and `helm template` for every environment,
 * every rendered manifest validated offline against the Kubernetes schemas, the workload hardening
 * the chart promises, and values.schema.json rejecting bad values files. The k8s/ manifests are
 * validated the same way.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@swarm-mesh/testing';
import { CHART_DIR, type Environment, ENVIRONMENTS, helm, valuesFile } from './support/helm';
import { labelOf, type Manifest, type ParsedManifest, parseManifests, SKIPPED_KINDS, validateManifest } from './support/k8s';
import { toolPath } from './support/tools';

jest.setTimeout(20 * 60_000);

const RELEASE = 'swarm-mesh';
const NAMESPACE = 'swarm-mesh';
const COMPONENTS = ['gateway', 'coordinator', 'resource-allocator', 'conflict-resolver', 'performance-optimizer'] as const;
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'helm');

let home: string;
const rendered = new Map<Environment, ParsedManifest[]>();

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'swarm-helm-'));
  toolPath('helm'); // installs it once per machine when missing (clear error otherwise)
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const env of ENVIRONMENTS) {
    const r = await helm(['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '-f', valuesFile(env)], home);
    if (r.code !== 0) throw new Error(`helm template for ${env} failed (exit ${r.code}):\n${r.stderr}`);
    writeFileSync(join(ARTIFACTS, `${env}.yaml`), r.stdout);
    rendered.set(env, parseManifests(r.stdout, `helm template (${env})`));
  }
});

afterAll(() => {
  if (home) rmSync(home, { recursive: true, force: true });
});

const manifests = (env: Environment): Manifest[] => (rendered.get(env) ?? []).map((p) => p.manifest);
const ofKind = (env: Environment, kind: string): Manifest[] => manifests(env).filter((m) => m.kind === kind);
const named = (env: Environment, kind: string, component: string): Manifest | undefined =>
  ofKind(env, kind).find((m) => m.metadata.name === `${RELEASE}-${component}`);

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are untyped JSON */
type Any = any;

describe('helm lint --strict', () => {
  it.each(ENVIRONMENTS)('passes for %s', async (env) => {
    const r = await helm(['lint', '--strict', CHART_DIR, '--namespace', NAMESPACE, '-f', valuesFile(env)], home);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });
});

describe('helm template', () => {
  it.each(ENVIRONMENTS)('%s renders manifests that all pass the Kubernetes schemas', (env) => {
    const docs = rendered.get(env) ?? [];
    expect(docs.length).toBeGreaterThan(20);
    const problems: string[] = [];
    const counts = new Map<string, number>();
    for (const p of docs) {
      const r = validateManifest(p.manifest);
      counts.set(p.manifest.kind, (counts.get(p.manifest.kind) ?? 0) + 1);
      if (r.status === 'invalid') problems.push(`${labelOf(p)}: ${r.error}`);
      if (r.status === 'skipped') problems.push(`${labelOf(p)}: the chart must not render unvalidated kinds (${r.reason})`);
    }
    expect(problems).toEqual([]);
    // names are unique per kind and fit DNS labels
    const keys = docs.map((p) => `${p.manifest.kind}/${p.manifest.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const p of docs) expect(p.manifest.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    console.log(`helm template ${env}: ${docs.length} manifests valid (${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')})`);
  });

  it('a digest pins the image; without tag or digest rendering fails', async () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const r = await helm(['template', RELEASE, CHART_DIR, '-f', valuesFile('prod'), '--set', `image.digest=${digest}`], home);
    expect(r.code).toBe(0);
    const images = parseManifests(r.stdout)
      .filter((p) => p.manifest.kind === 'Deployment')
      .map((p) => (p.manifest as Any).spec.template.spec.containers[0].image as string);
    expect(images.length).toBe(COMPONENTS.length);
    for (const i of images) expect(i).toBe(`ghcr.io/swarm-mesh/swarm-mesh@${digest}`);

    const none = await helm(
      ['template', RELEASE, CHART_DIR, '-f', valuesFile('prod'), '--set', 'image.tag=', '--set', 'image.digest='],
      home,
    );
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/image\.tag or image\.digest must be set/);
  });
});

describe('NATS credentials', () => {
  it('nats.usersSecret gives every process its own NATS user and password (deploy/nats-auth)', async () => {
    const r = await helm(
      ['template', RELEASE, CHART_DIR, '-f', valuesFile('dev'), '--set', 'nats.usersSecret=swarm-mesh-nats-users'],
      home,
    );
    expect(r.code).toBe(0);
    const deployments = parseManifests(r.stdout).filter((p) => p.manifest.kind === 'Deployment');
    expect(deployments).toHaveLength(COMPONENTS.length + 1);
    for (const d of deployments) {
      const c = (d.manifest as Any).spec.template.spec.containers[0];
      expect(c.env).toEqual(
        expect.arrayContaining([
          { name: 'NATS_USER', value: c.name },
          { name: 'NATS_PASSWORD', valueFrom: { secretKeyRef: { name: 'swarm-mesh-nats-users', key: c.name } } },
        ]),
      );
    }
  });
});

describe('workloads', () => {
  it.each(ENVIRONMENTS)('%s: every container runs locked down, with probes on real health endpoints and a graceful stop', (env) => {
    const config = ofKind(env, 'ConfigMap').find((m) => m.metadata.name === `${RELEASE}-config`) as Any;
    const graceMs = Number(config.data.SHUTDOWN_GRACE_MS);
    expect(graceMs).toBeGreaterThan(0);
    const deployments = ofKind(env, 'Deployment') as Any[];
    expect(deployments.length).toBeGreaterThanOrEqual(COMPONENTS.length);
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      const where = `${env} ${d.metadata.name}`;
      try {
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(pod.enableServiceLinks).toBe(false);
        expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(graceMs / 1000);
        expect(pod.containers).toHaveLength(1);
        const c = pod.containers[0];
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          privileged: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(c.image).toMatch(/^[^:@\s]+(:[A-Za-z0-9_][A-Za-z0-9_.-]*|@sha256:[a-f0-9]{64})$/);
        expect(c.image).not.toMatch(/:latest$/);
        expect(c.resources.requests).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
        expect(c.resources.limits.memory).toBeDefined();
        const isDemo = d.metadata.name.endsWith('-demo-swarm');
        const httpPort = c.ports.find((p: Any) => p.name === 'http').containerPort;
        expect(c.env).toEqual(expect.arrayContaining([{ name: 'HTTP_PORT', value: String(httpPort) }]));
        expect(c.readinessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
        expect(c.livenessProbe.httpGet).toEqual({ path: isDemo ? '/metrics' : '/health/live', port: 'http' });
        expect(c.startupProbe.httpGet).toEqual({ path: isDemo ? '/metrics' : '/health/live', port: 'http' });
        expect(c.lifecycle.preStop.exec.command[0]).toBe('sleep');
        expect(c.volumeMounts).toEqual(expect.arrayContaining([{ name: 'tmp', mountPath: '/tmp' }]));
        const names = (c.env as Array<{ name: string }>).map((e) => e.name);
        if (!isDemo) expect(names).toContain('DATABASE_URL');
        const dbUrl = (c.env as Any[]).find((e) => e.name === 'DATABASE_URL');
        if (dbUrl) expect(dbUrl.valueFrom.secretKeyRef).toEqual({ name: 'swarm-pg-app', key: 'uri' });
        expect(JSON.stringify(c.env)).not.toMatch(/postgres(ql)?:\/\/[^"]*:[^"]*@/);
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`);
      }
    }
  });

  it.each(ENVIRONMENTS)('%s: each component has its Service, NetworkPolicy and (when replicated) a PodDisruptionBudget', (env) => {
    for (const d of ofKind(env, 'Deployment') as Any[]) {
      const name = d.metadata.name as string;
      const component = d.spec.selector.matchLabels['app.kubernetes.io/component'] as string;
      const svc = ofKind(env, 'Service').find((s) => s.metadata.name === name) as Any;
      expect(svc?.spec.selector).toEqual(d.spec.selector.matchLabels);
      expect(svc.spec.ports).toEqual([expect.objectContaining({ name: 'http', targetPort: 'http' })]);
      const np = ofKind(env, 'NetworkPolicy').find((s) => s.metadata.name === name) as Any;
      expect(np?.spec.podSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
      expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      const hpa = ofKind(env, 'HorizontalPodAutoscaler').find((s) => s.metadata.name === name) as Any;
      const minReplicas = hpa ? hpa.spec.minReplicas : d.spec.replicas;
      if (hpa) expect(d.spec.replicas).toBeUndefined();
      const pdb = ofKind(env, 'PodDisruptionBudget').find((s) => s.metadata.name === name) as Any;
      if (component === 'coordinator') {
        // one coordinator until its HA lands: never two side by side, not even during a rollout
        expect(d.spec.replicas).toBe(1);
        expect(d.spec.strategy).toEqual({ type: 'Recreate' });
        expect(pdb).toBeUndefined();
      } else if (minReplicas > 1) {
        expect(pdb?.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
        expect(d.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
      } else {
        expect(pdb).toBeUndefined();
      }
    }
  });

  it('environments differ where they should', () => {
    expect(named('dev', 'Deployment', 'demo-swarm')).toBeDefined();
    expect(named('staging', 'Deployment', 'demo-swarm')).toBeUndefined();
    expect(named('prod', 'Deployment', 'demo-swarm')).toBeUndefined();
    for (const env of ENVIRONMENTS) for (const c of COMPONENTS) expect(named(env, 'Deployment', c)).toBeDefined();
    expect((named('prod', 'HorizontalPodAutoscaler', 'gateway') as Any).spec).toMatchObject({ minReplicas: 3, maxReplicas: 12 });
    expect(ofKind('dev', 'ServiceMonitor')).toHaveLength(0);
    for (const env of ['staging', 'prod'] as const) {
      const [sm] = ofKind(env, 'ServiceMonitor') as Any[];
      expect(sm.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics', honorLabels: true });
      expect(ofKind(env, 'Ingress')).toHaveLength(1);
      const dash = ofKind(env, 'ConfigMap').find((m) => m.metadata.name === `${RELEASE}-dashboard`) as Any;
      expect(dash.metadata.labels.grafana_dashboard).toBe('1');
      expect(JSON.parse(dash.data['swarm-mesh.json'] as string)).toMatchObject({ title: expect.any(String), panels: expect.any(Array) });
    }
    const sampler = (env: Environment) => (ofKind(env, 'ConfigMap').find((m) => m.metadata.name === `${RELEASE}-config`) as Any).data;
    expect(sampler('prod')).toMatchObject({
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
      DB_CREATE_IF_MISSING: 'false',
    });
    expect(sampler('dev').OTEL_EXPORTER_OTLP_ENDPOINT).toMatch(/:4318$/);
  });
});

describe('values.schema.json', () => {
  const bad: Array<{ what: string; yaml: string; error: RegExp }> = [
    { what: 'an unknown top-level key', yaml: 'replicaCount: 3\n', error: /additional properties 'replicaCount' not allowed/ },
    {
      what: 'a typo in a service',
      yaml: 'services:\n  gateway:\n    replica: 2\n',
      error: /at '\/services\/gateway': additional properties 'replica' not allowed/,
    },
    {
      what: 'an unknown service',
      yaml: 'services:\n  gatway:\n    enabled: true\n',
      error: /at '\/services': additional properties 'gatway' not allowed/,
    },
    { what: 'a mutable image tag', yaml: "image:\n  tag: 'latest'\n", error: /at '\/image\/tag'/ },
    { what: 'a wrong type', yaml: "services:\n  coordinator:\n    replicas: 'two'\n", error: /at '\/services\/coordinator\/replicas'/ },
    { what: 'a malformed digest', yaml: "image:\n  digest: 'sha256:abc'\n", error: /at '\/image\/digest'/ },
  ];

  it.each(bad)('rejects $what in lint and template', async ({ yaml, error }) => {
    const dir = mkdtempSync(join(tmpdir(), 'swarm-values-'));
    try {
      const file = join(dir, 'values-bad.yaml');
      writeFileSync(file, yaml);
      const lint = await helm(['lint', '--strict', CHART_DIR, '-f', valuesFile('staging'), '-f', file], home);
      expect(lint.code).not.toBe(0);
      expect(lint.stdout + lint.stderr).toMatch(/schema/);
      expect(lint.stdout + lint.stderr).toMatch(error);
      const tpl = await helm(['template', RELEASE, CHART_DIR, '-f', valuesFile('staging'), '-f', file], home);
      expect(tpl.code).not.toBe(0);
      expect(tpl.stderr).toMatch(error);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('k8s/ cluster pieces', () => {
  it('every manifest parses and passes its schema (CRDs without a schema are named and skipped)', () => {
    const dir = join(REPO_ROOT, 'k8s');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    const kinds = new Set<string>();
    const skipped: string[] = [];
    const problems: string[] = [];
    for (const f of files) {
      for (const p of parseManifests(readFileSync(join(dir, f), 'utf8'), `k8s/${f}`)) {
        kinds.add(p.manifest.kind);
        const r = validateManifest(p.manifest);
        if (r.status === 'invalid') problems.push(`${labelOf(p)}: ${r.error}`);
        if (r.status === 'skipped') skipped.push(`${labelOf(p)}: ${r.reason}`);
      }
    }
    expect(problems).toEqual([]);
    expect([...kinds]).toEqual(expect.arrayContaining(['Namespace', 'StatefulSet', 'Cluster', 'Deployment', 'Service']));
    expect(skipped).toEqual([expect.stringContaining('Cluster/swarm-pg')]);
    expect(Object.keys(SKIPPED_KINDS)).toEqual(['postgresql.cnpg.io/v1/Cluster']);
  });

  it('NATS runs JetStream on files with sync_interval: always, 3 replicas', () => {
    const docs = parseManifests(readFileSync(join(REPO_ROOT, 'k8s', '10-nats.yaml'), 'utf8')).map((p) => p.manifest as Any);
    const conf = docs.find((d) => d.kind === 'ConfigMap').data['nats.conf'] as string;
    expect(conf).toMatch(/jetstream\s*\{[^}]*store_dir:\s*\/data\/jetstream[^}]*sync_interval:\s*always/s);
    const sts = docs.find((d) => d.kind === 'StatefulSet');
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.template.spec.containers[0].image).toMatch(/^nats:2\.\d+\.\d+/);
    expect(conf.match(/nats:\/\/nats-\d\.nats-headless/g)).toHaveLength(3);
  });
});
