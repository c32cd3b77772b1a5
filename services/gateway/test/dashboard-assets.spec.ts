import vm from 'node:vm';
import { APP_CSS } from '../src/dashboard/assets/app-css';
import { APP_JS } from '../src/dashboard/assets/app-js';
import { INDEX_HTML } from '../src/dashboard/assets/index-html';
import { parseFilters, matches } from '../src/stream/stream-filters';
import { checkThreshold, judge, observe, SlidingWindow } from '../src/alerts/alert-rules';
import { formatMessage, parseSmtpUrl } from '../src/alerts/smtp-client';
import type { AlertRuleDto } from '@swarm-mesh/contracts';

describe('dashboard assets', () => {
  it('the script parses, builds DOM without innerHTML and the page loads only its own assets', () => {
    // compile only (never run): a syntax error in the embedded script fails here, not in a browser
    expect(() => new vm.Script(APP_JS)).not.toThrow();
    expect(APP_JS).not.toMatch(/innerHTML|outerHTML|eval\(|document\.write/);
    expect(INDEX_HTML).toContain('<script src="/dashboard/app.js" defer></script>');
    expect(INDEX_HTML).not.toMatch(/<script>[^<]/);
    expect(APP_CSS).toContain('@media (max-width: 640px)');
  });
});

describe('stream filters', () => {
  const e = (type: string, tenantId: string, data: Record<string, unknown> = {}) => ({ type, ts: 't', tenantId, data });
  it('keeps a key to its tenant, lets the bootstrap key watch all', () => {
    expect(() => parseFilters({ tenant: 'acme' }, 'default', false)).toThrow(/only watch/);
    expect(parseFilters({ tenant: '*' }, 'default', true).tenants).toEqual(['*']);
    expect(() => parseFilters({ colour: 'x' }, 'default', false)).toThrow(/unknown filter/);
  });
  it('matches kind prefixes, exact types and ids', () => {
    const f = parseFilters({ kind: 'task,agent.registered', task: 't1' }, 'default', false);
    expect(matches(f, e('task.succeeded', 'default', { taskId: 't1' }))).toBe(true);
    expect(matches(f, e('task.succeeded', 'default', { taskId: 't2' }))).toBe(false);
    expect(matches(f, e('task.succeeded', 'acme', { taskId: 't1' }))).toBe(false);
    expect(matches(parseFilters({}, 'default', false), e('flag.changed', '*'))).toBe(true);
  });
});

describe('alert rules', () => {
  const rule = (kind: AlertRuleDto['kind'], threshold: number | null = null): AlertRuleDto => ({
    id: 'r',
    tenantId: 'default',
    name: 'n',
    kind,
    threshold,
    windowMs: 60_000,
    cooldownMs: 0,
    severity: 'warning',
    channels: [],
    enabled: true,
    createdAt: 't',
    updatedAt: 't',
    lastFiredAt: null,
  });
  const ev = (type: string, data: Record<string, unknown> = {}) => ({ type, ts: 't', tenantId: 'default', data });
  it('checks a threshold against the range of its kind (count, ratio 0..1, ms, none)', () => {
    const refused = (kind: AlertRuleDto['kind'], threshold: number): unknown => {
      try {
        checkThreshold(kind, threshold);
        return undefined;
      } catch (err) {
        return err;
      }
    };
    expect(refused('error_rate', 5)).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { violations: [{ path: 'threshold', message: expect.stringContaining('from 0 to 1'), constraint: 'thresholdRange' }] },
    });
    expect(refused('budget_near_limit', 1.5)).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(refused('dead_letter_growth', 0)).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(refused('dead_letter_growth', 1.5)).toMatchObject({ message: expect.stringContaining('an integer from 1') });
    for (const [kind, t] of [
      ['agent_died', 1], // uses no threshold: kept and ignored
      ['pool_exhausted', 3],
      ['error_rate', 0],
      ['error_rate', 1],
      ['budget_near_limit', 0.9],
      ['dead_letter_growth', 1],
      ['sla_missed', 60_000],
    ] as const) {
      expect(refused(kind, t)).toBeUndefined();
    }
    for (const kind of ['agent_died', 'error_rate', 'pool_exhausted'] as const) {
      expect(() => checkThreshold(kind, null)).not.toThrow();
      expect(() => checkThreshold(kind, undefined)).not.toThrow();
    }
  });
  it('error_rate judges only with enough samples', () => {
    const r = rule('error_rate', 0.5);
    const w = new SlidingWindow();
    for (let i = 0; i < 9; i++) w.add(i, true);
    expect(judge(r, w)).toBeNull();
    w.add(10, false);
    expect(judge(r, w)?.title).toBe('Error rate 90%');
    w.prune(60_005, 60_000);
    expect(w.total).toBe(4);
  });
  it('maps the source events of each kind', () => {
    expect(observe(rule('agent_died'), ev('agent.state_changed', { agentId: 'a', to: 'dead' }))).toMatchObject({
      kind: 'fire',
      subject: 'a',
    });
    expect(observe(rule('agent_died'), ev('agent.state_changed', { agentId: 'a', to: 'degraded' }))).toBeNull();
    expect(observe(rule('budget_near_limit', 0.8), ev('budget.usage', { budgetId: 'b', used: 9, limit: 10 }))).toMatchObject({
      kind: 'fire',
    });
    expect(observe(rule('budget_near_limit', 0.95), ev('budget.usage', { budgetId: 'b', used: 9, limit: 10 }))).toBeNull();
    expect(observe(rule('sla_missed', 1000), ev('task.succeeded', { taskId: 't', totalMs: 1500 }))).toMatchObject({ kind: 'fire' });
    expect(observe(rule('pool_exhausted'), ev('pool.exhausted', { poolId: 'p' }))).toMatchObject({ subject: 'p' });
    expect(observe(rule('regression_detected'), ev('performance.regression_detected', { capability: 'c', metric: 'p95' }))).toMatchObject({
      kind: 'fire',
    });
  });
});

describe('SMTP client', () => {
  it('formats a message: CRLF, dot-stuffing, no header injection', () => {
    const m = formatMessage({ from: 'a@x', to: ['b@y'], subject: 'hi\r\nBcc: evil@z', text: 'line\n.dot\nend' }, new Date(0));
    expect(m).toContain('Subject: hi Bcc: evil@z\r\n');
    expect(m).toContain('\r\n..dot\r\n');
    expect(m.endsWith('\r\n.\r\n')).toBe(true);
    expect(parseSmtpUrl('smtp://u%40x:p@mail:2525')).toEqual({ host: 'mail', port: 2525, user: 'u@x', password: 'p' });
  });
});
