/**
 * docker-compose.yml and the Dockerfile, read as files (no Docker engine in CI): one compose file
 * runs the whole mesh with Jaeger from one image, and the image keeps its promises.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '@swarm-mesh/testing';

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  ports?: string[];
  read_only?: boolean;
  cap_drop?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
}

const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const MESH = ['gateway', 'coordinator', 'resource-allocator', 'conflict-resolver', 'performance-optimizer', 'demo-swarm'];

describe('docker-compose.yml', () => {
  it('runs NATS with JetStream, Postgres, Jaeger, the five services and the demo swarm', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...MESH, 'jaeger', 'nats', 'postgres'].sort());
    expect(compose.services.nats!.image).toMatch(/^nats:2\.\d+\.\d+/);
    expect(JSON.stringify(compose.services.nats)).toContain('-js');
    expect(compose.services.jaeger!.image).toBe('jaegertracing/jaeger:2.13.0');
    expect(compose.services.jaeger!.ports).toContain('16686:16686');
  });

  it('runs every mesh process from the one image, locked down, exporting traces to Jaeger over OTLP/HTTP', () => {
    for (const name of MESH) {
      const s = compose.services[name]!;
      expect({ name, image: s.image, build: s.build }).toEqual({ name, image: 'swarm-mesh:local', build: '.' });
      expect(s.environment).toMatchObject({
        SERVICE: name,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
        NATS_URL: 'nats://nats:4222',
      });
      expect(s.read_only).toBe(true);
      expect(s.cap_drop).toEqual(['ALL']);
      expect(s.depends_on?.nats?.condition ?? s.depends_on?.gateway?.condition).toBe('service_healthy');
    }
  });
});

describe('Dockerfile', () => {
  it('is multi-stage, runs as a numeric non-root user without npm, and checks its own health', () => {
    const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
    expect(stages).toEqual(['manifests', 'build', 'prod-deps', 'runtime']);
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/^USER 1000:1000$/m);
    expect(runtime).toMatch(/rm -rf \/usr\/local\/lib\/node_modules\/npm/);
    expect(runtime).toMatch(/^HEALTHCHECK [\s\S]*?'\/health'/m);
    expect(runtime).toMatch(/exec node/);
    expect(runtime).not.toMatch(/^RUN npm/m);
  });

  it('copies every project that `npm run build` compiles into the build stage', () => {
    const refs = (JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')) as { references: Array<{ path: string }> })
      .references;
    const build = dockerfile.slice(dockerfile.indexOf('AS build'), dockerfile.indexOf('AS prod-deps'));
    const copied = [...build.matchAll(/^COPY (\S+) \S+$/gm)].map((m) => m[1]!);
    for (const { path } of refs)
      expect({ path, copied: copied.some((c) => path === c || path.startsWith(`${c}/`)) }).toEqual({ path, copied: true });
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const c of copied) expect(ignored).not.toContain(c);
  });
});
