import type { SubmitWorkflowDto } from '@swarm-mesh/contracts';
import { SwarmError } from '@swarm-mesh/contracts';
import { BUILTIN_TEMPLATES } from '../src/workflows/builtin-templates';
import { computeCoverage, type NodeStatus } from '../src/workflows/coverage';
import { findCycle, plan, validateWorkflow } from '../src/workflows/graph';
import { mapInputs, parseExpression } from '../src/workflows/mapping';
import { checkTemplate, instantiate } from '../src/workflows/templates';

function wf(nodes: SubmitWorkflowDto['nodes'], extra: Partial<SubmitWorkflowDto> = {}): SubmitWorkflowDto {
  return { name: 'w', nodes, ...extra };
}

function rejected(fn: () => unknown): SwarmError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SwarmError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('workflow graph validation', () => {
  it('names the cycle with a closed path', () => {
    const err = rejected(() =>
      validateWorkflow(
        wf([
          { key: 'a', capability: 'x', dependsOn: ['c'] },
          { key: 'b', capability: 'x', dependsOn: ['a'] },
          { key: 'c', capability: 'x', dependsOn: ['b'] },
          { key: 'd', capability: 'x' },
        ]),
      ),
    );
    expect(err.code).toBe('WORKFLOW_CYCLE');
    const cycle = err.details!.cycle as string[];
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
    expect(new Set(cycle)).toEqual(new Set(['a', 'b', 'c']));
  });

  it('rejects a self-dependency, an unknown dependency and an unknown mapping reference with their paths', () => {
    expect(rejected(() => validateWorkflow(wf([{ key: 'a', capability: 'x', dependsOn: ['a'] }]))).code).toBe('WORKFLOW_CYCLE');
    const unknown = rejected(() => validateWorkflow(wf([{ key: 'a', capability: 'x', dependsOn: ['nope'] }])));
    expect(unknown.code).toBe('UNKNOWN_DEPENDENCY');
    expect(unknown.details!.path).toBe('nodes.0.dependsOn.0');
    const ref = rejected(() =>
      validateWorkflow(
        wf([
          { key: 'a', capability: 'x' },
          { key: 'b', capability: 'x', dependsOn: ['a'], inputs: { v: '${zz.result}' } },
        ]),
      ),
    );
    expect(ref.code).toBe('UNKNOWN_DEPENDENCY');
    expect(ref.details!.path).toBe('nodes.1.inputs.v');
  });

  it('allows mappings of ancestors only, and duplicate keys are invalid', () => {
    const spec = validateWorkflow(
      wf([
        { key: 'a', capability: 'x' },
        { key: 'b', capability: 'x', dependsOn: ['a'] },
        { key: 'c', capability: 'x', dependsOn: ['b'], inputs: { fromA: '${a.result.v}', fromB: 'b said ${b.result.text}' } },
      ]),
    );
    expect(spec.nodes[2]!.refs.sort()).toEqual(['a', 'b']);
    const sibling = rejected(() =>
      validateWorkflow(
        wf([
          { key: 'a', capability: 'x' },
          { key: 'b', capability: 'x' },
          { key: 'c', capability: 'x', dependsOn: ['a'], inputs: { v: '${b.result}' } },
        ]),
      ),
    );
    expect(sibling.code).toBe('INVALID_WORKFLOW');
    expect(
      rejected(() =>
        validateWorkflow(
          wf([
            { key: 'a', capability: 'x' },
            { key: 'a', capability: 'y' },
          ]),
        ),
      ).code,
    ).toBe('INVALID_WORKFLOW');
  });

  it('finds no cycle in a large diamond DAG (iteratively)', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `n${i}`);
    expect(findCycle(keys, (k) => (k === 'n0' ? [] : [`n${Number(k.slice(1)) - 1}`]))).toBeNull();
  });

  it('plans levels and the critical path', () => {
    const spec = validateWorkflow(
      wf([
        { key: 'fetch', capability: 'slow' },
        { key: 'left', capability: 'fast', dependsOn: ['fetch'] },
        { key: 'right', capability: 'slow', dependsOn: ['fetch'] },
        { key: 'join', capability: 'fast', dependsOn: ['left', 'right'] },
      ]),
    );
    const p = plan(spec.nodes, (c) => ({ ms: c === 'slow' ? 1000 : 100, source: 'default' }));
    expect(p.levels).toEqual([['fetch'], ['left', 'right'], ['join']]);
    expect(p.criticalPath).toEqual(['fetch', 'right', 'join']);
    expect(p.estimatedMs).toBe(2100);
    expect(p.nodes.find((n) => n.key === 'left')!.slackMs).toBe(900);
  });
});

describe('input mapping', () => {
  it('maps whole values, nested paths and text interpolation; a missing path is an error', () => {
    const results: Record<string, Record<string, unknown>> = { fetch: { records: [{ title: 'T1' }], n: 3 }, analyse: { summary: 'up' } };
    const input = mapInputs(
      { keep: 1 },
      {
        records: '${fetch.result.records}',
        'article.title': '${fetch.result.records.0.title}',
        prompt: 'n=${fetch.result.n}, ${analyse.result.summary}; $${literal}',
      },
      (k) => results[k],
    );
    expect(input).toEqual({ keep: 1, records: [{ title: 'T1' }], article: { title: 'T1' }, prompt: 'n=3, up; ${literal}' });
    expect(() => mapInputs({}, { x: '${fetch.result.nope}' }, (k) => results[k])).toThrow(/nope/);
    expect(parseExpression('${a.result}').whole).toBe(true);
  });

  it('never writes through a prototype: such targets are refused at submit, and mapping refuses them too', () => {
    for (const target of ['__proto__.polluted', 'constructor.prototype.polluted', 'a.__proto__', 'prototype']) {
      const e = rejected(() =>
        validateWorkflow(
          wf([
            { key: 'a', capability: 'x' },
            { key: 'b', capability: 'x', dependsOn: ['a'], inputs: { [target]: '${a.result.v}' } },
          ]),
        ),
      );
      expect({ target, code: e.code, path: e.details!.path }).toEqual({
        target,
        code: 'INVALID_WORKFLOW',
        path: `nodes.1.inputs.${target}`,
      });
    }
    expect(() => mapInputs({}, { '__proto__.polluted': 'x' }, () => ({}))).toThrow(/prototype/);
    // an inherited name on the way is not followed: an own object is created instead
    const out = mapInputs({}, { 'toString.polluted': 'x', 'hasOwnProperty.y': 'z' }, () => ({}));
    expect(out).toEqual({ toString: { polluted: 'x' }, hasOwnProperty: { y: 'z' } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype.toString as unknown as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('templates', () => {
  it('the built-in wire-report template is valid and instantiates with parameters', () => {
    const t = BUILTIN_TEMPLATES.find((b) => b.name === 'wire-report')!;
    checkTemplate(t);
    const dto = instantiate(t, { params: { topic: 'ai', records: 2, placeholder: true } });
    expect(dto.name).toBe('Wire report: ai');
    const fetch = dto.nodes.find((n) => n.key === 'fetch')!;
    expect(fetch.input).toMatchObject({ query: 'ai', limit: 2 });
    expect(dto.nodes.find((n) => n.key === 'write')!.input).toMatchObject({ simulate: { placeholder: true } });
    expect(dto.nodes.find((n) => n.key === 'analyse')!.inputs).toEqual({
      subject: '${fetch.result.query}',
      records: '${fetch.result.records}',
    });
  });

  it('rejects unknown, missing and mistyped parameters', () => {
    const t = BUILTIN_TEMPLATES.find((b) => b.name === 'wire-report')!;
    expect(rejected(() => instantiate(t, { params: { nope: 1 } })).code).toBe('INVALID_TEMPLATE_PARAMS');
    expect(rejected(() => instantiate(t, { params: { records: 'many' } })).code).toBe('INVALID_TEMPLATE_PARAMS');
    expect(rejected(() => instantiate({ ...t, defaults: {} }, { params: {} })).code).toBe('INVALID_TEMPLATE_PARAMS');
  });
});

describe('requirement coverage', () => {
  const reqs = [
    { id: 'R1', description: 'a', satisfiedBy: [{ node: 'a', field: 'body' }] },
    { id: 'R2', description: 'b', satisfiedBy: [{ node: 'b' }] },
  ];
  it('covered, failed and pending, and the gate', () => {
    const status: Record<string, NodeStatus> = { a: 'done', b: 'active' };
    let c = computeCoverage(
      reqs,
      1,
      (k) => status[k],
      () => true,
      Object.values(status),
    );
    expect([c.requirements[0]!.status, c.requirements[1]!.status, c.gate]).toEqual(['covered', 'pending', 'pending']);
    c = computeCoverage(
      reqs,
      1,
      (k) => status[k],
      () => false,
      Object.values(status),
    );
    expect([c.requirements[0]!.status, c.gate]).toEqual(['failed', 'failed']);
    c = computeCoverage(
      reqs,
      0.5,
      (k) => status[k],
      () => false,
      Object.values(status),
    );
    expect(c.gate).toBe('pending');
    status.b = 'done';
    c = computeCoverage(
      reqs,
      0.5,
      (k) => status[k],
      () => false,
      Object.values(status),
    );
    expect([c.coverage, c.gate]).toEqual([0.5, 'passed']);
  });
});
