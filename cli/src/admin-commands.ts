import {
  ALERT_KINDS,
  ALERT_SEVERITIES,
  type AlertChannelDto,
  type AlertPageDto,
  type AlertRuleDto,
  type AlertRulePageDto,
  API_KEY_ROLES,
  type ApiKeyDto,
  type ApiKeyPageDto,
  type ApiKeySecretDto,
  AUDIT_OUTCOMES,
  type AuditPageDto,
  type FlagDto,
  type FlagListDto,
  type WhoAmIDto,
} from '@swarm-mesh/contracts';
import { intOption, type OptionSpec, strOption, UsageError } from './args';
import type { CommandContext, CommandDef } from './commands';
import { details, table } from './format';

function print(ctx: CommandContext, value: unknown, human: () => string): number {
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(value, null, 2)}\n` : human());
  return 0;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string, command: string): T | undefined {
  if (typeof value !== 'string') return undefined;
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}; got "${value}"`, command);
  return value as T;
}

const LIMIT: OptionSpec = { name: 'limit', type: 'string', placeholder: 'n', description: 'Page size (1-500)' };
const CURSOR: OptionSpec = {
  name: 'cursor',
  type: 'string',
  placeholder: 'cursor',
  description: 'Page cursor (nextCursor of the previous page)',
};
const more = (c: string | null): string => (c ? `(more: add --cursor ${c})\n` : '');

function keyRow(k: ApiKeyDto): Array<string | number | null | undefined> {
  return [k.id, k.name, k.role, k.tenantId, `sm_${k.prefix}_…`, k.revokedAt ? `revoked ${k.revokedAt}` : 'active', k.lastUsedAt ?? '-'];
}

function shownOnce(ctx: CommandContext, s: ApiKeySecretDto, verb: string): number {
  return print(ctx, s, () =>
    [
      `${verb} key ${s.apiKey.id} (${s.apiKey.name}, ${s.apiKey.role}, tenant ${s.apiKey.tenantId})`,
      '',
      `  ${s.key}`,
      '',
      'This is the only time the key is shown: store it now (e.g. SWARM_API_KEY).',
      '',
    ].join('\n'),
  );
}

function flagLine(f: FlagDto): Array<string | number | null | undefined> {
  return [f.name, f.enabled ? 'on' : 'off', f.set ? 'set' : 'default', f.updatedBy ?? '-', f.description];
}

/** `swarm keys …`, `swarm flags …`, `swarm alerts …`, `swarm audit`, `swarm whoami`. */
export const ADMIN_COMMANDS: CommandDef[] = [
  {
    name: 'whoami',
    params: '',
    summary: 'Show the tenant, role and key id of the API key in use',
    minArgs: 0,
    maxArgs: 0,
    options: [],
    async run(ctx) {
      const me = await ctx.rest<WhoAmIDto>('GET', '/auth/whoami');
      return print(ctx, me, () =>
        details([
          ['tenant', me.tenantId],
          ['role', me.role],
          ['key', me.keyId],
          ['name', me.name],
        ]),
      );
    },
  },
  {
    name: 'keys list',
    params: '',
    summary: 'List API keys (admin; also: swarm keys)',
    minArgs: 0,
    maxArgs: 0,
    options: [
      { name: 'include-revoked', type: 'boolean', description: 'Also revoked keys' },
      { name: 'tenant', type: 'string', placeholder: 'T', description: 'Only this tenant (bootstrap admin key only)' },
      LIMIT,
      CURSOR,
    ],
    async run(ctx) {
      const page = await ctx.rest<ApiKeyPageDto>('GET', '/api-keys', undefined, {
        includeRevoked: ctx.opts['include-revoked'] ? true : undefined,
        tenantId: strOption(ctx.opts.tenant),
        limit: intOption(ctx.opts.limit, 'limit', 1, 500, ctx.name),
        cursor: strOption(ctx.opts.cursor),
      });
      return print(ctx, page, () =>
        page.items.length === 0
          ? 'no keys\n'
          : table(['ID', 'NAME', 'ROLE', 'TENANT', 'KEY', 'STATE', 'LAST USED'], page.items.map(keyRow)) + more(page.nextCursor),
      );
    },
  },
  {
    name: 'keys create',
    params: '',
    summary: 'Create an API key (admin); the key is printed once',
    minArgs: 0,
    maxArgs: 0,
    options: [
      { name: 'name', type: 'string', placeholder: 'text', description: 'What the key is for (required)' },
      { name: 'role', type: 'string', placeholder: 'R', description: `${API_KEY_ROLES.join(', ')} (required)` },
      { name: 'tenant', type: 'string', placeholder: 'T', description: 'Tenant (default: yours; another only with the bootstrap key)' },
      { name: 'rate-limit', type: 'string', placeholder: 'n', description: 'Requests per rate window for this key' },
    ],
    async run(ctx) {
      const name = strOption(ctx.opts.name);
      const role = oneOf(ctx.opts.role, API_KEY_ROLES, 'role', ctx.name);
      if (!name || !role) throw new UsageError('--name and --role are required', ctx.name);
      const rateLimit = intOption(ctx.opts['rate-limit'], 'rate-limit', 1, 10_000_000, ctx.name);
      const tenantId = strOption(ctx.opts.tenant);
      const s = await ctx.rest<ApiKeySecretDto>('POST', '/api-keys', {
        name,
        role,
        ...(tenantId ? { tenantId } : {}),
        ...(rateLimit !== undefined ? { rateLimit } : {}),
      });
      return shownOnce(ctx, s, 'created');
    },
  },
  {
    name: 'keys rotate',
    params: '<keyId>',
    summary: 'Replace an API key by a new one (same name, role, tenant); the old one stops working',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const s = await ctx.rest<ApiKeySecretDto>('POST', `/api-keys/${encodeURIComponent(ctx.args[0]!)}/rotate`);
      return shownOnce(ctx, s, `rotated ${ctx.args[0]!} → new`);
    },
  },
  {
    name: 'keys revoke',
    params: '<keyId>',
    summary: 'Revoke an API key (at once, on every gateway)',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const k = await ctx.rest<ApiKeyDto>('DELETE', `/api-keys/${encodeURIComponent(ctx.args[0]!)}`);
      return print(ctx, k, () => `revoked key ${k.id} (${k.name}) at ${k.revokedAt ?? '?'}\n`);
    },
  },
  {
    name: 'flags list',
    params: '',
    summary: 'Show the runtime feature flags (also: swarm flags)',
    minArgs: 0,
    maxArgs: 0,
    options: [],
    async run(ctx) {
      const l = await ctx.rest<FlagListDto>('GET', '/flags');
      return print(ctx, l, () => table(['FLAG', 'VALUE', 'SOURCE', 'CHANGED BY', 'DESCRIPTION'], l.items.map(flagLine)));
    },
  },
  {
    name: 'flags set',
    params: '<name> <on|off>',
    summary:
      'Turn a runtime flag on or off (operator or admin of the platform tenant, default: flags apply to every tenant); every service applies it at once',
    minArgs: 2,
    maxArgs: 2,
    options: [],
    async run(ctx) {
      const v = ctx.args[1]!.toLowerCase();
      if (!['on', 'off', 'true', 'false'].includes(v)) throw new UsageError(`value must be on or off; got "${ctx.args[1]!}"`, ctx.name);
      const f = await ctx.rest<FlagDto>('PUT', `/flags/${encodeURIComponent(ctx.args[0]!)}`, { enabled: v === 'on' || v === 'true' });
      return print(ctx, f, () => `${f.name} is ${f.enabled ? 'on' : 'off'}\n`);
    },
  },
  {
    name: 'audit',
    params: '',
    summary: 'Show the audit log of mutating calls, newest first (admin)',
    minArgs: 0,
    maxArgs: 0,
    options: [
      { name: 'action', type: 'string', placeholder: 'A', description: 'Exact action, e.g. "POST /api/v1/tasks"' },
      { name: 'outcome', type: 'string', placeholder: 'O', description: AUDIT_OUTCOMES.join(', ') },
      { name: 'target', type: 'string', placeholder: 'id', description: 'Only entries about this target id' },
      { name: 'since', type: 'string', placeholder: 'ISO time', description: 'Only entries at or after this time' },
      LIMIT,
      CURSOR,
    ],
    async run(ctx) {
      const page = await ctx.rest<AuditPageDto>('GET', '/audit', undefined, {
        action: strOption(ctx.opts.action),
        outcome: oneOf(ctx.opts.outcome, AUDIT_OUTCOMES, 'outcome', ctx.name),
        targetId: strOption(ctx.opts.target),
        since: strOption(ctx.opts.since),
        limit: intOption(ctx.opts.limit, 'limit', 1, 500, ctx.name),
        cursor: strOption(ctx.opts.cursor),
      });
      return print(ctx, page, () =>
        page.items.length === 0
          ? 'no audit entries\n'
          : table(
              ['AT', 'ACTOR', 'ACTION', 'TARGET', 'OUTCOME', 'STATUS', 'TRACE'],
              page.items.map((e) => [e.at, e.actor, e.action, e.targetId ?? '-', e.outcome, e.httpStatus ?? '-', e.traceId ?? '-']),
            ) + more(page.nextCursor),
      );
    },
  },
  {
    name: 'alerts list',
    params: '',
    summary: 'Fired alerts with their deliveries (also: swarm alerts)',
    minArgs: 0,
    maxArgs: 0,
    options: [LIMIT, CURSOR],
    async run(ctx) {
      const page = await ctx.rest<AlertPageDto>('GET', '/alerts', undefined, {
        limit: intOption(ctx.opts.limit, 'limit', 1, 500, ctx.name),
        cursor: strOption(ctx.opts.cursor),
      });
      return print(ctx, page, () =>
        page.items.length === 0
          ? 'no alerts\n'
          : table(
              ['FIRED', 'SEVERITY', 'KIND', 'TITLE', 'DELIVERIES'],
              page.items.map((a) => [
                a.firedAt,
                a.severity,
                a.kind,
                a.title,
                a.deliveries.map((d) => `${d.channel}:${d.state}`).join(' ') || '-',
              ]),
            ) + more(page.nextCursor),
      );
    },
  },
  {
    name: 'alerts rules',
    params: '',
    summary: 'List alert rules',
    minArgs: 0,
    maxArgs: 0,
    options: [LIMIT, CURSOR],
    async run(ctx) {
      const page = await ctx.rest<AlertRulePageDto>('GET', '/alerts/rules', undefined, {
        limit: intOption(ctx.opts.limit, 'limit', 1, 500, ctx.name),
        cursor: strOption(ctx.opts.cursor),
      });
      return print(ctx, page, () =>
        page.items.length === 0
          ? 'no alert rules\n'
          : table(
              ['ID', 'NAME', 'KIND', 'THRESHOLD', 'SEVERITY', 'CHANNELS', 'ENABLED'],
              page.items.map((r) => [
                r.id,
                r.name,
                r.kind,
                r.threshold ?? '-',
                r.severity,
                r.channels.map((c) => c.type).join(',') || '-',
                r.enabled ? 'yes' : 'no',
              ]),
            ) + more(page.nextCursor),
      );
    },
  },
  {
    name: 'alerts create',
    params: '',
    summary: 'Create an alert rule (admin)',
    help: `Kinds: ${ALERT_KINDS.join(', ')}. Give any number of --webhook, --slack and --email channels.`,
    minArgs: 0,
    maxArgs: 0,
    options: [
      { name: 'name', type: 'string', placeholder: 'text', description: 'Rule name (required)' },
      { name: 'kind', type: 'string', placeholder: 'K', description: 'What to watch (required)' },
      { name: 'threshold', type: 'string', placeholder: 'x', description: 'Count, ratio 0..1 or ms, by kind' },
      { name: 'window-ms', type: 'string', placeholder: 'ms', description: 'Sliding window (default 300000)' },
      { name: 'cooldown-ms', type: 'string', placeholder: 'ms', description: 'Quiet time after a firing (default 300000)' },
      { name: 'severity', type: 'string', placeholder: 'S', description: ALERT_SEVERITIES.join(', ') },
      { name: 'webhook', type: 'list', placeholder: 'url', description: 'Generic JSON webhook (repeatable)' },
      { name: 'slack', type: 'list', placeholder: 'url', description: 'Slack-compatible webhook (repeatable)' },
      { name: 'email', type: 'list', placeholder: 'address', description: 'E-mail recipient (repeatable; one channel for all)' },
      { name: 'disabled', type: 'boolean', description: 'Create it switched off' },
    ],
    async run(ctx) {
      const name = strOption(ctx.opts.name);
      const kind = oneOf(ctx.opts.kind, ALERT_KINDS, 'kind', ctx.name);
      if (!name || !kind) throw new UsageError('--name and --kind are required', ctx.name);
      const threshold = strOption(ctx.opts.threshold);
      if (threshold !== undefined && !/^\d+(\.\d+)?$/.test(threshold))
        throw new UsageError(`--threshold must be a number; got "${threshold}"`, ctx.name);
      const channels: AlertChannelDto[] = [
        ...((ctx.opts.webhook as string[] | undefined) ?? []).map((url): AlertChannelDto => ({ type: 'webhook', url })),
        ...((ctx.opts.slack as string[] | undefined) ?? []).map((url): AlertChannelDto => ({ type: 'slack', url })),
      ];
      const to = (ctx.opts.email as string[] | undefined) ?? [];
      if (to.length > 0) channels.push({ type: 'email', to });
      const windowMs = intOption(ctx.opts['window-ms'], 'window-ms', 1, 7 * 24 * 3600 * 1000, ctx.name);
      const cooldownMs = intOption(ctx.opts['cooldown-ms'], 'cooldown-ms', 0, 7 * 24 * 3600 * 1000, ctx.name);
      const severity = oneOf(ctx.opts.severity, ALERT_SEVERITIES, 'severity', ctx.name);
      const rule = await ctx.rest<AlertRuleDto>('POST', '/alerts/rules', {
        name,
        kind,
        channels,
        ...(threshold !== undefined ? { threshold: Number(threshold) } : {}),
        ...(windowMs !== undefined ? { windowMs } : {}),
        ...(cooldownMs !== undefined ? { cooldownMs } : {}),
        ...(severity ? { severity } : {}),
        ...(ctx.opts.disabled ? { enabled: false } : {}),
      });
      return print(
        ctx,
        rule,
        () => `created alert rule ${rule.id} (${rule.kind}, ${rule.channels.length} channel${rule.channels.length === 1 ? '' : 's'})\n`,
      );
    },
  },
  {
    name: 'alerts delete',
    params: '<ruleId>',
    summary: 'Delete an alert rule (admin)',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const r = await ctx.rest<AlertRuleDto>('DELETE', `/alerts/rules/${encodeURIComponent(ctx.args[0]!)}`);
      return print(ctx, r, () => `deleted alert rule ${r.id} (${r.name})\n`);
    },
  },
  {
    name: 'alerts test',
    params: '<ruleId>',
    summary: 'Fire a test alert through a rule’s channels (admin)',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    async run(ctx) {
      const a = await ctx.rest<{ id: string; deliveries: unknown[] }>('POST', `/alerts/rules/${encodeURIComponent(ctx.args[0]!)}/test`);
      return print(
        ctx,
        a,
        () => `test alert ${a.id} fired; ${a.deliveries.length} deliver${a.deliveries.length === 1 ? 'y' : 'ies'} queued\n`,
      );
    },
  },
];

/** `swarm keys` = `swarm keys list`, and so on. */
export const ADMIN_GROUP_DEFAULTS: Record<string, string> = { keys: 'keys list', flags: 'flags list', alerts: 'alerts list' };
