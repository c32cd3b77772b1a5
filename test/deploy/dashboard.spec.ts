/**
 * The Grafana dashboard shipped in the chart (deploy/swarm-mesh/dashboards/swarm-mesh.json): a
 * well-formed dashboard whose queries use only series README.md documents.
 */
import { readFileSync } from 'node:fs';
import { DASHBOARD_FILE, documentedSeries, seriesIn } from '../e2e/support/prometheus';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr: string; refId: string }>;
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
  title: string;
  uid: string;
  panels: Panel[];
  links: Array<{ url: string }>;
  templating: { list: Array<{ name: string }> };
};

describe('Grafana dashboard', () => {
  it('is a dashboard with unique panel ids on a 24-column grid', () => {
    expect(dashboard.title).toBe('Swarm Mesh');
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type !== 'row') expect(p.targets?.length).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.expr).toContain('namespace=~"$namespace"');
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace', 'jaeger_url']);
    expect(dashboard.links[0]?.url).toContain('${jaeger_url}');
  });

  it('queries only documented series, and charts every documented swarm_ series but the per-message-type internals', () => {
    const documented = documentedSeries();
    const known = new Set(documented.map((d) => d.name));
    const used = new Set(dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => seriesIn(t.expr))));
    const undocumented = [...used].filter((n) => !known.has(n) && !(n.startsWith('swarm_process_') && known.has('swarm_process_*')));
    expect(undocumented).toEqual([]);
    const charted = documented.filter((d) => d.name.startsWith('swarm_') && !d.name.endsWith('*')).map((d) => d.name);
    expect(charted.filter((n) => !used.has(n) && n !== 'swarm_allocations_active')).toEqual([]);
  });
});
