import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@swarm-mesh/testing';

/** A process that serves /metrics: the five services and the demo swarm. */
export type MetricsProcess =
  'gateway' | 'coordinator' | 'resource-allocator' | 'conflict-resolver' | 'performance-optimizer' | 'demo-swarm';
const SERVICES: MetricsProcess[] = ['gateway', 'coordinator', 'resource-allocator', 'conflict-resolver', 'performance-optimizer'];

/** One row of README.md's Metrics table. */
export interface DocumentedSeries {
  /** Series name; a `*` at the end stands for a family (`swarm_process_*`). */
  name: string;
  type: string;
  labels: string[];
  /** Processes that expose it. */
  exposedBy: MetricsProcess[];
  /** Planned by another issue: documented, not yet exposed. */
  planned: string | null;
}

/** Reads the Metrics table of README.md (the documentation is the list the tests check). */
export function documentedSeries(readme = join(REPO_ROOT, 'README.md')): DocumentedSeries[] {
  const text = readFileSync(readme, 'utf8');
  const section = text.slice(text.indexOf('### Metrics'));
  const out: DocumentedSeries[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells.length !== 5) throw new Error(`README.md Metrics table: a row needs 5 cells: ${line}`);
    const [nameCell, type, labels, by] = cells as [string, string, string, string, string];
    const name = /^`([a-z0-9_*]+)`$/.exec(nameCell)?.[1];
    if (!name) throw new Error(`README.md Metrics table: bad series name cell: ${nameCell}`);
    const planned = /\(planned, ([^)]+)\)/.exec(by)?.[1] ?? null;
    const who = by.replace(/\(.*\)/, '').trim();
    const exposedBy: MetricsProcess[] = who === 'every service' ? [...SERVICES] : [who as MetricsProcess];
    out.push({
      name,
      type,
      labels: labels
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
      exposedBy,
      planned,
    });
  }
  return out;
}

/** The Grafana dashboard the chart ships. */
export const DASHBOARD_FILE = join(REPO_ROOT, 'deploy', 'swarm-mesh', 'dashboards', 'swarm-mesh.json');

/** Metric names a PromQL expression reads (`_bucket`/`_sum`/`_count` folded into their histogram). */
export function seriesIn(expr: string): string[] {
  const names = expr.match(/\b(swarm|demo)_[a-z0-9_]+/g) ?? [];
  return [...new Set(names.map((n) => n.replace(/_(bucket|sum|count)$/, '')))];
}

/** Every series the dashboard's queries read. */
export function dashboardSeries(file = DASHBOARD_FILE): string[] {
  const d = JSON.parse(readFileSync(file, 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
  return [...new Set(d.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => seriesIn(t.expr))))];
}

/** A sample of Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parsed `/metrics` body: `# TYPE` lines and samples. */
export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** Samples of a series (histogram parts are `<name>_bucket`, `_sum`, `_count`). */
  find(name: string, labels?: Record<string, string>): Sample[];
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!s) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (s[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: s[1]!, labels, value: Number(s[3]) });
  }
  return {
    types,
    samples,
    find: (name, want = {}) => samples.filter((x) => x.name === name && Object.entries(want).every(([k, v]) => x.labels[k] === v)),
  };
}
