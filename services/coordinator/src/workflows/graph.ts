import { type FailurePolicy, type SubmitWorkflowDto, SwarmError, type TaskTier, type WorkflowNodeDto } from '@swarm-mesh/contracts';
import { MappingSyntaxError, parseExpression, type Reference } from './mapping';

/** Path segments that would reach an object's prototype when the mapping writes the input. */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/** A node as the coordinator keeps it (in `workflows.spec` and in memory). */
export interface NodeSpec {
  key: string;
  capability: string;
  dependsOn: string[];
  /** Target input path → expression. */
  inputs?: Record<string, string>;
  /** Nodes whose results the mapping reads (ancestors). */
  refs: string[];
  approval?: { required: boolean; approvers?: string[] };
  tier: TaskTier;
}

export interface RequirementSpec {
  id: string;
  description: string;
  satisfiedBy: Array<{ node: string; field?: string }>;
}

/** The validated, normalised shape of a workflow (what `workflows.spec` stores). */
export interface WorkflowSpec {
  nodes: NodeSpec[];
  requirements: RequirementSpec[];
  /** null: no requirements declared (the workflow succeeds when every node does). */
  minCoverage: number | null;
}

function invalid(message: string, path: string, extra: Record<string, unknown> = {}): SwarmError {
  return new SwarmError('INVALID_WORKFLOW', message, { path, ...extra });
}

/**
 * Finds a cycle in the graph (key → dependencies) and returns it as a closed path
 * (`['a', 'b', 'a']`: a depends on b, b depends on a), or null. Iterative DFS, O(V + E).
 */
export function findCycle(keys: readonly string[], deps: (key: string) => readonly string[]): string[] | null {
  const color = new Map<string, 0 | 1 | 2>();
  for (const start of keys) {
    if (color.get(start)) continue;
    const stack: Array<{ key: string; i: number }> = [{ key: start, i: 0 }];
    color.set(start, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const d = deps(top.key);
      if (top.i < d.length) {
        const next = d[top.i++]!;
        const c = color.get(next) ?? 0;
        if (c === 1) {
          const from = stack.findIndex((f) => f.key === next);
          return [...stack.slice(from).map((f) => f.key), next];
        }
        if (c === 0) {
          color.set(next, 1);
          stack.push({ key: next, i: 0 });
        }
      } else {
        color.set(top.key, 2);
        stack.pop();
      }
    }
  }
  return null;
}

/** Topological order (dependencies first); the graph must be acyclic. */
export function topologicalOrder(nodes: readonly NodeSpec[]): string[] {
  const indegree = new Map<string, number>();
  const dependants = new Map<string, string[]>();
  for (const n of nodes) {
    indegree.set(n.key, n.dependsOn.length);
    for (const d of n.dependsOn) {
      const list = dependants.get(d) ?? [];
      list.push(n.key);
      dependants.set(d, list);
    }
  }
  const ready = nodes.filter((n) => n.dependsOn.length === 0).map((n) => n.key);
  const out: string[] = [];
  for (let i = 0; i < ready.length; i++) {
    const k = ready[i]!;
    out.push(k);
    for (const c of dependants.get(k) ?? []) {
      const left = indegree.get(c)! - 1;
      indegree.set(c, left);
      if (left === 0) ready.push(c);
    }
  }
  return out;
}

/** Every ancestor of each node (transitive dependencies), computed in topological order. */
function ancestors(nodes: readonly NodeSpec[], order: readonly string[]): Map<string, Set<string>> {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const out = new Map<string, Set<string>>();
  for (const k of order) {
    const set = new Set<string>();
    for (const d of byKey.get(k)!.dependsOn) {
      set.add(d);
      for (const a of out.get(d) ?? []) set.add(a);
    }
    out.set(k, set);
  }
  return out;
}

/**
 * Validates a submitted workflow and normalises it. Errors name the offending path:
 * duplicate keys and malformed mappings → INVALID_WORKFLOW; a dependency, mapping or
 * requirement naming a node that does not exist → UNKNOWN_DEPENDENCY; a cycle → WORKFLOW_CYCLE
 * with `details.cycle` (`['a', 'b', 'a']`). A mapping may only read ancestors' results.
 */
export function validateWorkflow(dto: SubmitWorkflowDto, opts: { allowParams?: boolean } = {}): WorkflowSpec {
  const seen = new Map<string, number>();
  dto.nodes.forEach((n, i) => {
    const prev = seen.get(n.key);
    if (prev !== undefined) throw invalid(`nodes ${prev} and ${i} have the same key "${n.key}"`, `nodes.${i}.key`, { key: n.key });
    seen.set(n.key, i);
  });
  const nodes: NodeSpec[] = dto.nodes.map((n: WorkflowNodeDto, i) => {
    const deps = [...new Set(n.dependsOn ?? [])];
    deps.forEach((d, j) => {
      if (!seen.has(d))
        throw new SwarmError('UNKNOWN_DEPENDENCY', `node "${n.key}" depends on "${d}", which is not a node of this workflow`, {
          path: `nodes.${i}.dependsOn.${j}`,
          node: n.key,
          dependency: d,
        });
      if (d === n.key)
        throw new SwarmError('WORKFLOW_CYCLE', `node "${n.key}" depends on itself`, {
          cycle: [n.key, n.key],
          path: `nodes.${i}.dependsOn.${j}`,
        });
    });
    const refs = new Set<string>();
    for (const [target, text] of Object.entries(n.inputs ?? {})) {
      const path = `nodes.${i}.inputs.${target}`;
      if (!/^[A-Za-z0-9_$-]{1,128}(\.[A-Za-z0-9_$-]{1,128}){0,15}$/.test(target))
        throw invalid(`node "${n.key}": input target "${target}" must be a dotted path such as article.body`, path);
      const forbidden = target.split('.').find((seg) => FORBIDDEN_SEGMENTS.has(seg));
      if (forbidden !== undefined) throw invalid(`node "${n.key}": input target "${target}" may not use the segment "${forbidden}"`, path);
      let parsed;
      try {
        parsed = parseExpression(text);
      } catch (err) {
        if (err instanceof MappingSyntaxError) throw invalid(`node "${n.key}", input "${target}": ${err.message}`, path);
        throw err;
      }
      for (const p of parsed.parts) {
        if (typeof p === 'string') continue;
        const ref: Reference = p;
        if (ref.kind === 'params') {
          if (!opts.allowParams)
            throw invalid(`node "${n.key}", input "${target}": \${${ref.raw}} names a template parameter outside a template`, path);
          continue;
        }
        if (!seen.has(ref.name))
          throw new SwarmError('UNKNOWN_DEPENDENCY', `node "${n.key}", input "${target}": \${${ref.raw}} names no node of this workflow`, {
            path,
            node: n.key,
            reference: ref.raw,
          });
        refs.add(ref.name);
      }
    }
    return {
      key: n.key,
      capability: n.capability,
      dependsOn: deps,
      ...(n.inputs && Object.keys(n.inputs).length > 0 ? { inputs: { ...n.inputs } } : {}),
      refs: [...refs],
      ...(n.approval?.required
        ? { approval: { required: true, ...(n.approval.approvers ? { approvers: [...n.approval.approvers] } : {}) } }
        : {}),
      tier: n.tier ?? 'orchestrator',
    };
  });
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const cycle = findCycle(
    nodes.map((n) => n.key),
    (k) => byKey.get(k)!.dependsOn,
  );
  if (cycle) {
    throw new SwarmError('WORKFLOW_CYCLE', `the dependencies form a cycle: ${cycle.join(' → ')}`, {
      cycle,
      path: `nodes.${seen.get(cycle[0]!)}.dependsOn`,
    });
  }
  const order = topologicalOrder(nodes);
  const anc = ancestors(nodes, order);
  nodes.forEach((n, i) => {
    for (const r of n.refs) {
      if (!anc.get(n.key)!.has(r))
        throw invalid(
          `node "${n.key}" maps the result of "${r}", which is not one of its ancestors: add "${r}" to its dependsOn`,
          `nodes.${i}.inputs`,
          { node: n.key, reference: r },
        );
    }
  });
  const requirements: RequirementSpec[] = (dto.requirements ?? []).map((r, i) => {
    r.satisfiedBy.forEach((s, j) => {
      if (!seen.has(s.node))
        throw new SwarmError('UNKNOWN_DEPENDENCY', `requirement "${r.id}" names "${s.node}", which is not a node of this workflow`, {
          path: `requirements.${i}.satisfiedBy.${j}.node`,
          requirement: r.id,
          node: s.node,
        });
    });
    return {
      id: r.id,
      description: r.description,
      // null (which an optional field's validation lets through) means no field, like undefined
      satisfiedBy: r.satisfiedBy.map((s) => ({ node: s.node, ...(typeof s.field === 'string' ? { field: s.field } : {}) })),
    };
  });
  const ids = new Set<string>();
  requirements.forEach((r, i) => {
    if (ids.has(r.id)) throw invalid(`two requirements have the id "${r.id}"`, `requirements.${i}.id`);
    ids.add(r.id);
  });
  if (dto.qualityGate && requirements.length === 0)
    throw invalid('a quality gate needs requirements to measure coverage against', 'qualityGate');
  return {
    nodes,
    requirements,
    minCoverage: requirements.length === 0 ? null : (dto.qualityGate?.minCoverage ?? 1),
  };
}

export function failurePolicyOf(dto: SubmitWorkflowDto): FailurePolicy {
  return dto.failurePolicy ?? 'fail_fast';
}

/** One node of an execution plan. */
export interface PlannedNode {
  key: string;
  capability: string;
  level: number;
  dependsOn: string[];
  estimatedMs: number;
  estimateSource: 'history' | 'default';
  earliestStartMs: number;
  slackMs: number;
  critical: boolean;
}

/**
 * Topological levels, earliest/latest starts with unlimited parallelism, and the critical path
 * (the longest chain by estimated duration).
 */
export function plan(
  nodes: readonly NodeSpec[],
  estimate: (capability: string) => { ms: number; source: 'history' | 'default' },
): { levels: string[][]; criticalPath: string[]; estimatedMs: number; nodes: PlannedNode[] } {
  const order = topologicalOrder(nodes);
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const level = new Map<string, number>();
  const est = new Map<string, { ms: number; source: 'history' | 'default' }>();
  const es = new Map<string, number>();
  const via = new Map<string, string | null>();
  for (const k of order) {
    const n = byKey.get(k)!;
    est.set(k, estimate(n.capability));
    let lv = 0;
    let start = 0;
    let from: string | null = null;
    for (const d of n.dependsOn) {
      lv = Math.max(lv, level.get(d)! + 1);
      const end = es.get(d)! + est.get(d)!.ms;
      if (from === null || end > start) {
        start = end;
        from = d;
      }
    }
    level.set(k, lv);
    es.set(k, start);
    via.set(k, from);
  }
  let total = 0;
  let last: string | null = null;
  for (const k of order) {
    const end = es.get(k)! + est.get(k)!.ms;
    if (last === null || end > total) {
      total = end;
      last = k;
    }
  }
  // latest start: reverse topological order
  const dependants = new Map<string, string[]>();
  for (const n of nodes) for (const d of n.dependsOn) dependants.set(d, [...(dependants.get(d) ?? []), n.key]);
  const ls = new Map<string, number>();
  for (const k of [...order].reverse()) {
    const kids = dependants.get(k) ?? [];
    const latestEnd = kids.length === 0 ? total : Math.min(...kids.map((c) => ls.get(c)!));
    ls.set(k, latestEnd - est.get(k)!.ms);
  }
  const path: string[] = [];
  for (let k: string | null = last; k !== null; k = via.get(k) ?? null) path.unshift(k);
  const critical = new Set(path);
  const levels: string[][] = [];
  for (const k of order) {
    const lv = level.get(k)!;
    (levels[lv] ??= []).push(k);
  }
  return {
    levels,
    criticalPath: path,
    estimatedMs: Math.round(total),
    nodes: order.map((k) => {
      const n = byKey.get(k)!;
      return {
        key: k,
        capability: n.capability,
        level: level.get(k)!,
        dependsOn: n.dependsOn,
        estimatedMs: Math.round(est.get(k)!.ms),
        estimateSource: est.get(k)!.source,
        earliestStartMs: Math.round(es.get(k)!),
        slackMs: Math.max(0, Math.round(ls.get(k)! - es.get(k)!)),
        critical: critical.has(k),
      };
    }),
  };
}
