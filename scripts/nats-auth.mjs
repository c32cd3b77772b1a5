#!/usr/bin/env node
// `node scripts/nats-auth.mjs [options]`: generates the NATS accounts/users/permissions of a Swarm
// Mesh deployment: one user per service (broad permissions) and one per agent (or agent group)
// that may only publish on its own subjects and the swarm channels, subscribe to its own inbox,
// and use the JetStream API of its own dispatch consumer. Plain Node, no dependencies.
//
//   node scripts/nats-auth.mjs --agent fetcher-1 --agent writer-1 --out .data/nats-auth
//   node scripts/nats-auth.mjs --namespace t1234abcd --agent a1 --json      (tests)
//   node scripts/nats-auth.mjs --agent-group demo=demo-fetch-1,demo-write-1 --format helm
//
// Writes <out>/nats-auth.conf (include it from nats-server.conf, or pass with -c) and
// <out>/credentials.json ({user: {password, kind, agentIds}}; give each process its NATS_USER /
// NATS_PASSWORD). --json prints {config, users} instead; --format helm prints values for the
// NATS Helm chart (config.merge) with passwords as << $ENV >> references (see deploy/nats-auth/).
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const SERVICES = ['gateway', 'coordinator', 'resource-allocator', 'conflict-resolver', 'performance-optimizer'];
const DOMAINS = ['data', 'content', 'intel', 'quality', 'infra'];
const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const NS_RE = /^$|^[a-z][a-z0-9_]{0,31}$/;

const HELP = `Usage: node scripts/nats-auth.mjs [options]

  --namespace NS          SWARM_NAMESPACE the subjects and stream names carry (default none)
  --agent ID              an agent user "agent-ID" confined to agent ID (repeatable)
  --agent-group NAME=ID,… one user NAME for several agents in one process (repeatable; demo swarm)
  --service-user NAME     an extra user with service (broad) permissions (repeatable; e.g. cli, bench)
  --account NAME          account name (default SWARM)
  --out DIR               write nats-auth.conf and credentials.json there
  --json                  print {config, users} as JSON
  --format helm           print Helm values (config.merge) for the NATS chart
  --help
`;

function parse(argv) {
  const o = { namespace: '', agents: [], groups: [], serviceUsers: [], account: 'SWARM', out: null, json: false, format: 'conf' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') o.help = true;
    else if (a === '--namespace') o.namespace = val();
    else if (a === '--agent') o.agents.push(val());
    else if (a === '--agent-group') {
      const [name, ids] = val().split('=');
      if (!name || !ids) throw new Error('--agent-group needs NAME=ID1,ID2');
      o.groups.push({ name, ids: ids.split(',').filter(Boolean) });
    } else if (a === '--service-user') o.serviceUsers.push(val());
    else if (a === '--account') o.account = val();
    else if (a === '--out') o.out = val();
    else if (a === '--json') o.json = true;
    else if (a === '--format') o.format = val();
    else throw new Error(`unknown option ${a}\n\n${HELP}`);
  }
  if (!NS_RE.test(o.namespace)) throw new Error(`invalid namespace "${o.namespace}"`);
  for (const id of [...o.agents, ...o.groups.flatMap((g) => g.ids)]) if (!ID_RE.test(id)) throw new Error(`invalid agent id "${id}"`);
  if (!['conf', 'helm'].includes(o.format)) throw new Error('--format is conf or helm');
  return o;
}

const subject = (ns, s) => (ns ? `${ns}.${s}` : s);
const streamName = (ns, s) => (ns ? `${ns.toUpperCase()}_${s}` : s);

/** Permissions of a user confined to the given agent ids. */
export function agentPermissions(ns, ids) {
  const stream = streamName(ns, 'SWARM_DISPATCH');
  const pub = [];
  const sub = ['_INBOX.>'];
  for (const id of ids) {
    const consumer = streamName(ns, `agent_${id}`);
    // own verbs (register, heartbeat, reports, results, checkpoint): one token, so never its inbox
    pub.push(subject(ns, `swarm.agent.${id}.*`));
    // its own dispatch consumer: info, pull, ack (and nak/term/progress, which share the ack subject)
    pub.push(
      `$JS.API.CONSUMER.INFO.${stream}.${consumer}`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
      `$JS.ACK.${stream}.${consumer}.>`,
    );
    sub.push(subject(ns, `swarm.agent.${id}.inbox.>`));
  }
  for (const d of DOMAINS) {
    pub.push(subject(ns, `swarm.${d}.*`));
    sub.push(subject(ns, `swarm.${d}.*`));
  }
  pub.push('$JS.API.INFO');
  return { publish: { allow: pub }, subscribe: { allow: sub } };
}

export function servicePermissions() {
  return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
}

export function generate(o, passwordOf = () => randomBytes(24).toString('base64url')) {
  const users = [];
  for (const s of [...SERVICES, ...o.serviceUsers])
    users.push({ user: s, password: passwordOf(s), kind: 'service', agentIds: [], permissions: servicePermissions() });
  for (const id of o.agents)
    users.push({
      user: `agent-${id}`,
      password: passwordOf(`agent-${id}`),
      kind: 'agent',
      agentIds: [id],
      permissions: agentPermissions(o.namespace, [id]),
    });
  for (const g of o.groups)
    users.push({
      user: g.name,
      password: passwordOf(g.name),
      kind: 'agent',
      agentIds: g.ids,
      permissions: agentPermissions(o.namespace, g.ids),
    });
  const q = (s) => JSON.stringify(s);
  const list = (xs) => `[${xs.map(q).join(', ')}]`;
  const lines = [
    '# Generated by scripts/nats-auth.mjs — Swarm Mesh NATS users and permissions.',
    `# namespace: ${o.namespace || '(none)'}`,
    'accounts {',
    `  ${o.account} {`,
    '    jetstream: enabled',
    '    users: [',
    ...users.map(
      (u) =>
        `      { user: ${q(u.user)}, password: ${q(u.password)}, permissions: { publish: { allow: ${list(u.permissions.publish.allow)} }, subscribe: { allow: ${list(u.permissions.subscribe.allow)} } } }`,
    ),
    '    ]',
    '  }',
    '}',
    '',
  ];
  return { config: lines.join('\n'), users };
}

function helmValues(o, users) {
  const env = (u) => `NATS_PW_${u.user.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
  const out = [
    '# Values for the NATS Helm chart (nats-io/k8s, chart "nats" >= 1.0), generated by scripts/nats-auth.mjs.',
    '# Passwords are not in here: each << $NATS_PW_… >> is read from the container environment; set them',
    '# from a Secret (container.env below), and give every Swarm Mesh process its NATS_USER / NATS_PASSWORD.',
    'config:',
    '  jetstream:',
    '    enabled: true',
    '  merge:',
    '    accounts:',
    `      ${o.account}:`,
    '        jetstream: enabled',
    '        users:',
  ];
  for (const u of users) {
    out.push(`          - user: ${JSON.stringify(u.user)}`, `            password: << $${env(u)} >>`, '            permissions:');
    for (const dir of ['publish', 'subscribe']) {
      out.push(`              ${dir}:`, '                allow:');
      for (const s of u.permissions[dir].allow) out.push(`                  - ${JSON.stringify(s)}`);
    }
  }
  out.push('container:', '  env:');
  for (const u of users) {
    out.push(
      `    ${env(u)}:`,
      '      valueFrom:',
      '        secretKeyRef:',
      '          name: swarm-mesh-nats-users',
      `          key: ${JSON.stringify(u.user)}`,
    );
  }
  return `${out.join('\n')}\n`;
}

function main() {
  const o = parse(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(HELP);
    return;
  }
  const { config, users } = generate(o);
  if (o.format === 'helm') {
    process.stdout.write(helmValues(o, users));
    return;
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ config, users })}\n`);
    return;
  }
  if (!o.out) {
    process.stdout.write(config);
    return;
  }
  mkdirSync(o.out, { recursive: true });
  const conf = path.join(o.out, 'nats-auth.conf');
  const creds = path.join(o.out, 'credentials.json');
  writeFileSync(conf, config, { mode: 0o600 });
  writeFileSync(
    creds,
    `${JSON.stringify(Object.fromEntries(users.map((u) => [u.user, { password: u.password, kind: u.kind, agentIds: u.agentIds }])), null, 2)}\n`,
    { mode: 0o600 },
  );
  chmodSync(conf, 0o600);
  chmodSync(creds, 0o600);
  process.stderr.write(`wrote ${conf} and ${creds} (${users.length} users)\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`nats-auth: ${err.message}\n`);
  process.exit(2);
}
