#!/usr/bin/env node
// `npm start`: builds Swarm Mesh and runs all of it locally: NATS (JetStream) and Postgres (reused
// when they answer, otherwise started privately in .data/), the five services and the demo swarm.
// Plain Node with built-ins only at the top level: it runs before node_modules exists.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  DEFAULT_DATABASE_URL,
  DEFAULT_NATS_URL,
  ROOT,
  UserError,
  build,
  c,
  ensureDependencies,
  fail,
  loadDotEnv,
  redactUrl,
  say,
  sleep,
  tag,
  tcpAnswers,
  warn,
} from './lib/common.mjs';
import { ensureNats } from './lib/nats.mjs';
import { ensurePostgres } from './lib/postgres.mjs';
import { Child, registry } from './lib/supervisor.mjs';

const SERVICES = [
  { name: 'gateway', portVar: 'GATEWAY_PORT', port: 3000 },
  { name: 'coordinator', portVar: 'COORDINATOR_PORT', port: 3001 },
  { name: 'resource-allocator', portVar: 'RESOURCE_ALLOCATOR_PORT', port: 3002 },
  { name: 'conflict-resolver', portVar: 'CONFLICT_RESOLVER_PORT', port: 3003 },
  { name: 'performance-optimizer', portVar: 'PERFORMANCE_OPTIMIZER_PORT', port: 3004 },
];
const DEMO = { name: 'demo-swarm', portVar: 'DEMO_SWARM_PORT', port: 3005 };
const DEMO_ENTRY = path.join('agents', 'demo-swarm', 'dist', 'main.js');
const HEALTH_TIMEOUT_MS = 90_000;
const DATA_DIR = path.join(ROOT, '.data');

const HELP = `Usage: npm start [-- options]

Builds the repo and runs Swarm Mesh locally: NATS with JetStream and Postgres (the ones at
NATS_URL / DATABASE_URL when they answer, otherwise private ones in .data/), the five services
and the demo swarm. Stops everything it started on Ctrl-C.

Options:
  --replicas N   run N replicas of every service (default 1; extra replicas use free ports)
  --no-build     skip "npm run build"
  --no-demo      do not start the demo swarm
  --quiet        show only warnings and errors from the processes
  --help         show this help

Settings come from the environment and from .env (see .env.example); the environment wins.
  NATS_URL      default ${DEFAULT_NATS_URL}
  DATABASE_URL  default ${DEFAULT_DATABASE_URL}
  SWARM_ADMIN_API_KEY  first admin key; when unset one is generated into .data/admin-api-key
`;

function parseArgs(argv) {
  const opts = { build: true, demo: true, replicas: 1, quiet: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') opts.help = true;
    else if (a === '--no-build') opts.build = false;
    else if (a === '--no-demo') opts.demo = false;
    else if (a === '--quiet' || a === '-q') opts.quiet = true;
    else if (a === '--replicas' || a.startsWith('--replicas=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 16) throw new UserError(`--replicas needs a whole number from 1 to 16 (got "${v ?? ''}")`);
      opts.replicas = n;
    } else throw new UserError(`unknown option "${a}"\n\n${HELP}`);
  }
  return opts;
}

/** SWARM_ADMIN_API_KEY, or the key saved in .data/admin-api-key, or a new random 256-bit key saved there. */
function resolveAdminKey() {
  const fromEnv = process.env.SWARM_ADMIN_API_KEY?.trim();
  if (fromEnv) return { key: fromEnv, source: 'from SWARM_ADMIN_API_KEY' };
  const file = path.join(DATA_DIR, 'admin-api-key');
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key) {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
      return { key, source: 'from .data/admin-api-key' };
    }
  }
  const key = `sm_${randomBytes(32).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { key, source: 'new, saved to .data/admin-api-key' };
}

function getJson(url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        let json = null;
        try {
          json = JSON.parse(body);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** "coordinator down, postgres degraded" from a mesh health report. */
function notOk(report) {
  if (!report || typeof report !== 'object') return 'no report';
  const bad = [];
  for (const [name, s] of Object.entries(report.services ?? {})) if (s?.status !== 'ok') bad.push(`${name} ${s?.status ?? '?'}`);
  for (const name of ['nats', 'postgres']) if (report[name] && report[name].status !== 'ok') bad.push(`${name} ${report[name].status}`);
  return bad.length ? bad.join(', ') : `status ${report.status}`;
}

function hostForUrls() {
  const h = process.env.HTTP_HOST;
  return !h || h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h;
}

// ---------------------------------------------------------------------------------------------

let shuttingDown = false;
let firstSignalAt = 0;

async function shutdown(code, reason) {
  if (shuttingDown) {
    if (reason !== 'error' && Date.now() - firstSignalAt > 2_000) {
      warn('second interrupt: killing everything now');
      for (const ch of registry.children) ch.killNow('SIGKILL');
      process.exit(1);
    }
    return;
  }
  shuttingDown = true;
  firstSignalAt = Date.now();
  registry.closed = true;
  const running = registry.children.filter((ch) => ch.running);
  const hint = reason === 'error' ? '' : '; press Ctrl-C again to force';
  if (running.length > 0) say(`stopping ${running.length} process(es) (${reason})${hint}`);
  const apps = registry.children.filter((ch) => ch.options.role === 'app');
  const infra = registry.children.filter((ch) => ch.options.role !== 'app');
  await Promise.all(apps.map((ch) => ch.stop()));
  // servers we started ourselves, after the services that use them (reused ones are never touched)
  await Promise.all(infra.map((ch) => ch.stop({ escalate: ch.name === 'postgres' ? ['SIGQUIT'] : [] })));
  if (running.length > 0) say('stopped');
  process.exit(code);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(HELP);
    return;
  }
  process.chdir(ROOT);
  const loaded = loadDotEnv(path.join(ROOT, '.env'));
  if (loaded) say(`loaded .env (${loaded.length} variable(s) not already set in the environment)`);
  await ensureDependencies();
  if (opts.build) await build();
  for (const s of SERVICES) {
    const entry = path.join('services', s.name, 'dist', 'main.js');
    if (!existsSync(entry)) throw new UserError(`${entry} is missing: run without --no-build (or npm run build) first`);
  }

  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => void shutdown(0, sig));

  if (process.env.HTTP_PORT) {
    warn('HTTP_PORT is set but ignored by npm start (it would give every service the same port); use GATEWAY_PORT, COORDINATOR_PORT, …');
  }
  const gatewayPort = Number(process.env.GATEWAY_PORT || 3000);
  if (!Number.isInteger(gatewayPort) || gatewayPort < 1 || gatewayPort > 65535) {
    throw new UserError(`GATEWAY_PORT must be a port number from 1 to 65535 for npm start (got "${process.env.GATEWAY_PORT}")`);
  }
  const host = hostForUrls();
  const probeHost = host.replace(/^\[|\]$/g, '');
  const demoPresent = existsSync(path.join(ROOT, DEMO_ENTRY));
  const runDemo = opts.demo && demoPresent;
  for (const s of runDemo ? [...SERVICES, DEMO] : SERVICES) {
    const port = Number(process.env[s.portVar] || s.port);
    if (port > 0 && (await tcpAnswers(probeHost, port, 500))) {
      throw new UserError(
        `port ${port} (${s.name}) is already in use: is another "npm start" or a service still running? ` +
          `Stop it, or choose other ports with ${s.portVar} (see .env.example).`,
      );
    }
  }

  mkdirSync(DATA_DIR, { recursive: true });
  const natsUrl = process.env.NATS_URL || DEFAULT_NATS_URL;
  const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const nats = await ensureNats({ natsUrl, storeDir: path.join(DATA_DIR, 'nats'), quiet: opts.quiet });
  if (shuttingDown) return;
  const pg = await ensurePostgres({ databaseUrl, dataDir: path.join(DATA_DIR, 'postgres'), quiet: opts.quiet });
  if (shuttingDown) return;
  const admin = resolveAdminKey();

  const baseEnv = { ...process.env, NATS_URL: natsUrl, DATABASE_URL: databaseUrl, SWARM_ADMIN_API_KEY: admin.key };
  delete baseEnv.HTTP_PORT;
  const gatewayUrl = `http://${host}:${gatewayPort}`;
  const onReady = (child) => (line) => {
    if (!line.startsWith('{') || !line.includes('"ready"')) return;
    try {
      const rec = JSON.parse(line);
      if (rec.event === 'ready' && typeof rec.url === 'string') child.url = rec.url;
    } catch {
      // not a log record
    }
  };
  const apps = [];
  const gaveUp = [];
  for (const s of SERVICES) {
    for (let r = 1; r <= opts.replicas; r++) {
      const name = opts.replicas > 1 ? `${s.name}#${r}` : s.name;
      const env = { ...baseEnv };
      if (r > 1) env.HTTP_PORT = '0';
      const child = new Child({
        name,
        role: 'app',
        command: process.execPath,
        args: [path.join('services', s.name, 'dist', 'main.js')],
        env,
        cwd: ROOT,
        quiet: opts.quiet,
        onGiveUp: (ch) => gaveUp.push(ch.name),
      });
      child.options.onLine = onReady(child);
      child.service = s;
      apps.push(child);
    }
  }
  const perService = opts.replicas > 1 ? ` × ${opts.replicas} replicas` : '';
  say(`starting ${SERVICES.length} services${perService}…`);
  for (const child of apps) child.start();

  // wait for the mesh: the gateway asks every service (and NATS, Postgres) for its health
  const healthUrl = `${gatewayUrl}/api/v1/health`;
  const started = Date.now();
  let lastNote = 'gateway not answering yet';
  let lastPrinted = started;
  for (;;) {
    if (shuttingDown) return;
    if (gaveUp.length > 0)
      throw new UserError(`${gaveUp.join(', ')} kept crashing (see the errors above), so the mesh cannot become healthy`);
    try {
      const res = await getJson(healthUrl, 3_000);
      if (res.status === 200) break;
      lastNote = `mesh ${res.json?.status ?? res.status}: ${notOk(res.json)}`;
    } catch {
      lastNote = 'gateway not answering yet';
    }
    const elapsed = Date.now() - started;
    if (elapsed > HEALTH_TIMEOUT_MS) {
      throw new UserError(`the mesh did not become healthy within ${HEALTH_TIMEOUT_MS / 1000} s (${lastNote}); see the errors above`);
    }
    if (Date.now() - lastPrinted >= 5_000) {
      say(c.dim(`waiting for ${healthUrl} (${Math.round(elapsed / 1000)} s): ${lastNote}`));
      lastPrinted = Date.now();
    }
    await sleep(1_000);
  }
  if (shuttingDown) return;
  const healthySeconds = (Date.now() - started) / 1000;
  say(`the mesh is healthy after ${healthySeconds.toFixed(1)} s`);

  // the demo agents register with the coordinator: start them once the mesh answers
  if (runDemo) {
    const demo = new Child({
      name: DEMO.name,
      role: 'app',
      command: process.execPath,
      args: [DEMO_ENTRY],
      env: { SWARM_URL: gatewayUrl, SWARM_API_KEY: admin.key, ...baseEnv },
      cwd: ROOT,
      quiet: opts.quiet,
    });
    demo.options.onLine = onReady(demo);
    demo.service = DEMO;
    apps.push(demo);
    say('starting the demo swarm…');
    demo.start();
    const deadline = Date.now() + 30_000;
    while (!demo.url && !demo.gaveUp && !shuttingDown && Date.now() < deadline) await sleep(200);
    if (shuttingDown) return;
    if (!demo.url) warn('the demo swarm did not report ready within 30 s (see its lines above); the mesh runs without it');
  }
  await sleep(200); // let the last "ready" lines arrive
  let dashboard = false;
  try {
    dashboard = (await getJson(`${gatewayUrl}/`, 2_000)).status === 200;
  } catch {
    // reported as not served
  }
  printSummary({ opts, apps, gatewayUrl, host, nats, pg, admin, demoPresent, dashboard, seconds: healthySeconds });
}

function printSummary({ opts, apps, gatewayUrl, host, nats, pg, admin, demoPresent, dashboard, seconds }) {
  const row = (label, value, shown = label) => `  ${shown}${' '.repeat(Math.max(1, 27 - label.length))}${value}`;
  const lines = ['', c.bold(c.green(`Swarm Mesh is up (healthy after ${seconds.toFixed(1)} s)`)), ''];
  lines.push(row('REST API', `${gatewayUrl}/api/v1`));
  lines.push(row('OpenAPI UI', `${gatewayUrl}/api/docs`));
  lines.push(row('Dashboard', dashboard ? `${gatewayUrl}/` : `${gatewayUrl}/ (not served yet)`));
  lines.push(row('Mesh health', `${gatewayUrl}/api/v1/health`));
  for (const child of apps) {
    if (!child.service) continue;
    const fallback =
      child.name.includes('#') && !child.name.endsWith('#1')
        ? null
        : `http://${host}:${Number(process.env[child.service.portVar] || child.service.port)}`;
    const base = child.url ?? fallback;
    const state = !child.running ? ' (not running)' : '';
    lines.push(row(`[${child.name}]`, base ? `${base}/health  ${base}/metrics${state}` : `(port not known yet)${state}`, tag(child.name)));
  }
  if (opts.demo && !demoPresent) lines.push(row('Demo swarm', `not started (${DEMO_ENTRY} not built yet)`));
  lines.push(row('NATS', `${redactUrl(nats.url)} (${nats.child ? 'started here, store .data/nats' : 'existing server'})`));
  lines.push(row('Postgres', `${redactUrl(pg.url)} (${pg.child ? 'started here, data .data/postgres' : 'existing server'})`));
  const otlp = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (otlp) {
    let jaeger = '(could not derive from OTEL_EXPORTER_OTLP_ENDPOINT)';
    try {
      jaeger = `http://${new URL(otlp).hostname}:16686`;
    } catch {
      // keep the note
    }
    lines.push(row('Jaeger UI', jaeger));
  }
  lines.push(row('Admin API key', `${c.bold(admin.key)}  (${admin.source})`));
  lines.push('');
  lines.push(`  Try: curl -H "Authorization: Bearer ${admin.key}" ${gatewayUrl}/api/v1/health`);
  lines.push(
    `       SWARM_URL=${gatewayUrl} SWARM_API_KEY=${admin.key} npx swarm submit data.fetch --input '{"url":"https://example.com"}' --wait`,
  );
  if (demoPresent) lines.push(`       SWARM_URL=${gatewayUrl} SWARM_API_KEY=${admin.key} npx swarm demo wire-report --auto-approve`);
  lines.push(`  Press Ctrl-C to stop${opts.quiet ? '' : '; --quiet shows only warnings and errors'}.`);
  lines.push('');
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch(async (err) => {
  if (shuttingDown) return; // stopping on a signal: errors of the interrupted start-up are expected
  if (err instanceof UserError) fail(err.message);
  else fail(`start failed: ${err?.stack ?? err}`);
  await shutdown(1, 'error');
});
