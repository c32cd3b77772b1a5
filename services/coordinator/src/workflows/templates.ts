import {
  type InstantiateTemplateDto,
  type RegisterTemplateDto,
  type SubmitWorkflowDto,
  SubmitWorkflowDto as SubmitWorkflowClass,
  SwarmError,
  type TemplateParamDto,
  validatePlain,
} from '@swarm-mesh/contracts';
import { validateWorkflow } from './graph';
import { evaluate, getPath, hasReference, MappingSyntaxError, parseExpression, type Reference, UnresolvedReferenceError } from './mapping';

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v;
}

/** Checks the given params against the template's declarations and fills in the defaults. */
export function resolveParams(
  declared: readonly TemplateParamDto[],
  defaults: Record<string, unknown>,
  given: Record<string, unknown>,
): Record<string, unknown> {
  const problems: Array<{ param: string; problem: string }> = [];
  const byName = new Map(declared.map((p) => [p.name, p]));
  for (const k of Object.keys(given)) if (!byName.has(k)) problems.push({ param: k, problem: 'unknown parameter' });
  const out: Record<string, unknown> = {};
  for (const p of declared) {
    const v = given[p.name] !== undefined ? given[p.name] : defaults[p.name];
    if (v === undefined) {
      if (p.required) problems.push({ param: p.name, problem: 'required' });
      continue;
    }
    if (typeOf(v) !== p.type) {
      problems.push({ param: p.name, problem: `expected ${p.type}, got ${typeOf(v)}` });
      continue;
    }
    out[p.name] = v;
  }
  if (problems.length > 0) {
    throw new SwarmError(
      'INVALID_TEMPLATE_PARAMS',
      `invalid template parameters: ${problems.map((p) => `${p.param}: ${p.problem}`).join('; ')}`,
      { problems },
    );
  }
  return out;
}

/**
 * Substitutes `${params.x}` in the strings of a value (node inputs, names, labels); node
 * references (`${fetch.result}`) are left for run time. `textOnly` (mapping expressions, labels):
 * a whole-string parameter is inserted as text.
 */
function substitute(value: unknown, params: Record<string, unknown>, path: string, textOnly: boolean): unknown {
  if (typeof value === 'string') {
    if (!hasReference(value)) return value;
    let expr;
    try {
      expr = parseExpression(value);
    } catch (err) {
      if (err instanceof MappingSyntaxError) throw new SwarmError('INVALID_WORKFLOW', `${path}: ${err.message}`, { path });
      throw err;
    }
    const lookup = (ref: Reference): unknown => (ref.kind === 'params' ? getPath(params[ref.name], ref.path) : undefined);
    const keep = (ref: Reference): boolean => ref.kind === 'node';
    try {
      const out = evaluate(expr, lookup, keep);
      return textOnly && typeof out !== 'string' ? JSON.stringify(out) : out;
    } catch (err) {
      if (err instanceof UnresolvedReferenceError)
        throw new SwarmError('INVALID_TEMPLATE_PARAMS', `${path}: ${err.message}`, {
          problems: [{ param: err.reference, problem: 'no value' }],
          path,
        });
      throw err;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, params, `${path}.${i}`, textOnly));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, params, `${path}.${k}`, textOnly);
    return out;
  }
  return value;
}

/** Builds the workflow a template instantiates (validated as a submitted workflow would be). */
export function instantiate(template: RegisterTemplateDto, body: InstantiateTemplateDto): SubmitWorkflowDto {
  const params = resolveParams(template.params ?? [], template.defaults ?? {}, body.params ?? {});
  const wf = template.workflow;
  const plain: Record<string, unknown> = {
    ...(JSON.parse(JSON.stringify(wf)) as Record<string, unknown>),
    name: body.name ?? substitute(wf.name, params, 'workflow.name', true),
    nodes: wf.nodes.map((n, i) => ({
      ...(JSON.parse(JSON.stringify(n)) as Record<string, unknown>),
      ...(n.input !== undefined ? { input: substitute(n.input, params, `workflow.nodes.${i}.input`, false) } : {}),
      ...(n.inputs !== undefined ? { inputs: substitute(n.inputs, params, `workflow.nodes.${i}.inputs`, true) } : {}),
      ...(n.labels !== undefined ? { labels: substitute(n.labels, params, `workflow.nodes.${i}.labels`, true) } : {}),
    })),
    ...(wf.labels !== undefined || body.labels !== undefined
      ? {
          labels: {
            ...((wf.labels ? substitute(wf.labels, params, 'workflow.labels', true) : {}) as Record<string, string>),
            ...body.labels,
          },
        }
      : {}),
  };
  if (body.idempotencyKey !== undefined) plain.idempotencyKey = body.idempotencyKey;
  else delete plain.idempotencyKey;
  const dto = validatePlain(SubmitWorkflowClass, plain, 'instantiated workflow');
  validateWorkflow(dto);
  return dto;
}

/** Checks a template at registration: its workflow must be valid with parameters left open. */
export function checkTemplate(t: RegisterTemplateDto): void {
  const names = new Set<string>();
  for (const p of t.params ?? []) {
    if (names.has(p.name)) throw new SwarmError('INVALID_WORKFLOW', `template parameter "${p.name}" is declared twice`, { path: 'params' });
    names.add(p.name);
  }
  for (const k of Object.keys(t.defaults ?? {}))
    if (!names.has(k))
      throw new SwarmError('INVALID_TEMPLATE_PARAMS', `default for undeclared parameter "${k}"`, {
        problems: [{ param: k, problem: 'not declared' }],
      });
  validateWorkflow(t.workflow, { allowParams: true });
  // every parameter a node refers to must be declared
  const referenced = new Set<string>();
  const scan = (v: unknown): void => {
    if (typeof v === 'string') {
      if (!hasReference(v)) return;
      try {
        for (const p of parseExpression(v).parts) if (typeof p !== 'string' && p.kind === 'params') referenced.add(p.name);
      } catch {
        /* reported by validateWorkflow or at instantiation */
      }
    } else if (Array.isArray(v)) v.forEach(scan);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(scan);
  };
  scan(t.workflow);
  const undeclared = [...referenced].filter((r) => !names.has(r));
  if (undeclared.length > 0)
    throw new SwarmError('INVALID_TEMPLATE_PARAMS', `the workflow uses undeclared parameters: ${undeclared.join(', ')}`, {
      problems: undeclared.map((param) => ({ param, problem: 'not declared' })),
    });
}
