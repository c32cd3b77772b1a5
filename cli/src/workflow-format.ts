import type {
  TaskTreeNodeDto,
  WorkflowCoverageDto,
  WorkflowDto,
  WorkflowPlanDto,
  WorkflowSummaryDto,
  WorkflowTemplateDto,
} from '@swarm-mesh/contracts';
import { details, duration, table } from './format';

const pct = (v: number | null | undefined): string | undefined => (v === null || v === undefined ? undefined : `${Math.round(v * 100)}%`);

export function progressText(p: WorkflowSummaryDto['progress']): string {
  const parts = [`${p.succeeded}/${p.total} succeeded`];
  if (p.active) parts.push(`${p.active} active`);
  if (p.pending) parts.push(`${p.pending} pending`);
  if (p.awaitingApproval) parts.push(`${p.awaitingApproval} awaiting approval`);
  if (p.needsReview) parts.push(`${p.needsReview} in review`);
  if (p.failed) parts.push(`${p.failed} failed`);
  if (p.cancelled) parts.push(`${p.cancelled} cancelled`);
  return parts.join(', ');
}

export function workflowsTable(items: WorkflowSummaryDto[]): string {
  return table(
    ['ID', 'NAME', 'STATE', 'PROGRESS', 'COVERAGE', 'CREATED'],
    items.map((w) => [
      w.id,
      w.name,
      w.state,
      `${Math.round(w.progress.percent * 100)}% (${w.progress.succeeded}/${w.progress.total})`,
      pct(w.coverage),
      w.createdAt,
    ]),
  );
}

export function nodesTable(w: WorkflowDto): string {
  return table(
    ['NODE', 'CAPABILITY', 'STATE', 'ATTEMPT', 'DEPENDS ON', 'TASK', 'NOTE'],
    w.nodes.map((n) => [
      n.key,
      n.capability,
      n.state,
      n.attempt,
      n.dependsOn.join(',') || undefined,
      n.taskId,
      n.approval?.status === 'pending'
        ? // once the workflow has ended its gates cannot be decided any more
          w.state === 'running'
          ? `swarm approve ${n.taskId}`
          : `approval not decided (workflow ${w.state})`
        : n.approval?.status === 'withdrawn'
          ? `${n.approval.kind} withdrawn${n.approval.comment ? `: ${n.approval.comment.slice(0, 60)}` : ''}`
          : n.approval?.decidedBy
            ? `${n.approval.status} by ${n.approval.decidedByName ?? n.approval.decidedBy}`
            : n.error
              ? `${n.error.code ?? 'error'}: ${n.error.message.slice(0, 60)}`
              : undefined,
    ]),
  );
}

export function workflowDetails(w: WorkflowDto): string {
  let out = details([
    ['id', w.id],
    ['name', w.name],
    ['state', w.state],
    ['progress', progressText(w.progress)],
    [
      'coverage',
      w.requirements
        ? `${pct(w.requirements.coverage)} (${w.requirements.covered}/${w.requirements.total}, gate ${w.requirements.gate})`
        : undefined,
    ],
    ['failure policy', w.failurePolicy],
    ['template', w.template],
    ['error', w.error ? `${w.error.code}: ${w.error.message}` : undefined],
    ['created', w.createdAt],
    ['finished', w.finishedAt],
  ]);
  out += `\n${nodesTable(w)}`;
  return out;
}

export function coverageText(c: WorkflowCoverageDto): string {
  const head = `coverage ${pct(c.coverage)}: ${c.covered} covered, ${c.failed} failed, ${c.pending} pending of ${c.total}; minimum ${pct(c.minCoverage) ?? '-'}, gate ${c.gate}\n`;
  return (
    head +
    table(
      ['REQUIREMENT', 'STATUS', 'SATISFIED BY', 'DESCRIPTION'],
      c.requirements.map((r) => [
        r.id,
        r.status,
        r.satisfiedBy
          .map((s) => `${s.node}${s.field ? `.${s.field}` : ''}=${s.status}${s.reason && s.status !== 'covered' ? ` (${s.reason})` : ''}`)
          .join('; '),
        r.description,
      ]),
    )
  );
}

export function planText(p: WorkflowPlanDto): string {
  const levels = p.levels.map((l, i) => `  level ${i}: ${l.join(', ')}`).join('\n');
  return (
    `critical path (${duration(p.estimatedMs)}): ${p.criticalPath.join(' → ')}\n${levels}\n\n` +
    table(
      ['NODE', 'LEVEL', 'ESTIMATE', 'FROM', 'EARLIEST START', 'SLACK', 'CRITICAL'],
      p.nodes.map((n) => [
        n.key,
        n.level,
        duration(n.estimatedMs),
        n.estimateSource,
        duration(n.earliestStartMs),
        duration(n.slackMs),
        n.critical ? 'yes' : '',
      ]),
    )
  );
}

export function treeText(nodes: TaskTreeNodeDto[]): string {
  const lines: string[] = [];
  const walk = (n: TaskTreeNodeDto, prefix: string, last: boolean, top: boolean): void => {
    const label = `${n.nodeKey ? `${n.nodeKey} ` : n.spawnKey ? `${n.spawnKey} ` : ''}[${n.tier}] ${n.capability} ${n.state}${n.approval ? ` (${n.approval.kind} ${n.approval.status})` : ''}  ${n.id}`;
    lines.push(top ? label : `${prefix}${last ? '└─ ' : '├─ '}${label}`);
    const next = top ? '' : `${prefix}${last ? '   ' : '│  '}`;
    n.children.forEach((c, i) => walk(c, next, i === n.children.length - 1, false));
  };
  for (const n of nodes) walk(n, '', true, true);
  return `${lines.join('\n')}\n`;
}

export function templatesTable(items: WorkflowTemplateDto[]): string {
  return table(
    ['NAME', 'VERSION', 'NODES', 'PARAMS', 'BUILT-IN', 'DESCRIPTION'],
    items.map((t) => [
      t.name,
      t.version,
      t.workflow.nodes.length,
      (t.params ?? []).map((p) => `${p.name}${p.required ? '*' : ''}:${p.type}`).join(' '),
      t.builtin ? 'yes' : '',
      t.description?.slice(0, 80),
    ]),
  );
}
