// Small helpers shared by scripts/start.mjs and scripts/test.mjs.
// Node built-ins only: these run before `npm ci` has created node_modules.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two levels above this file). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/swarm_mesh';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Colours (only on a terminal; NO_COLOR and FORCE_COLOR are honoured)

const useColour = process.env.NO_COLOR === undefined && (process.env.FORCE_COLOR !== undefined || process.stdout.isTTY === true);
const paint = (code) => (s) => (useColour ? `\u001b[${code}m${s}\u001b[0m` : String(s));
export const c = {
  bold: paint('1'),
  dim: paint('2'),
  red: paint('31'),
  green: paint('32'),
  yellow: paint('33'),
  blue: paint('34'),
  magenta: paint('35'),
  cyan: paint('36'),
};
const TAG_COLOURS = ['36', '35', '33', '32', '34', '96', '95', '93', '92', '94'];
const tagColourByName = new Map();
/** `[name]` in a colour that stays the same for a given name. */
export function tag(name) {
  const base = name.replace(/#\d+$/, '');
  if (!tagColourByName.has(base)) tagColourByName.set(base, TAG_COLOURS[tagColourByName.size % TAG_COLOURS.length]);
  return paint(tagColourByName.get(base))(`[${name}]`);
}

/** Messages of the runner itself. */
export const say = (msg) => process.stdout.write(`${c.bold('[swarm]')} ${msg}\n`);
export const warn = (msg) => process.stderr.write(`${c.bold(c.yellow('[swarm]'))} ${c.yellow(msg)}\n`);
export const fail = (msg) => process.stderr.write(`${c.bold(c.red('[swarm]'))} ${c.red(msg)}\n`);

/** An error whose message is meant for the user as is (no stack trace). */
export class UserError extends Error {}

// ---------------------------------------------------------------------------------------------
// .env

/**
 * Loads `KEY=VALUE` lines from `file` into `env`; variables already set win. Supports blank lines,
 * `#` comments, `export KEY=…`, single/double quotes and trailing ` # comments` on unquoted values.
 * Returns the names it set.
 */
export function loadDotEnv(file, env = process.env) {
  if (!existsSync(file)) return null;
  const set = [];
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) {
      warn(`${path.basename(file)}:${i + 1}: ignoring a line that is not KEY=VALUE`);
      return;
    }
    const [, key, rawValue] = m;
    let value = rawValue;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      value = value.replace(/\s+#.*$/, '').trim();
    }
    if (env[key] === undefined) {
      env[key] = value;
      set.push(key);
    }
  });
  return set;
}

// ---------------------------------------------------------------------------------------------
// Addresses

/** host/port of every server in a comma-separated NATS_URL. */
export function natsEndpoints(natsUrl) {
  return natsUrl
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      let u;
      try {
        u = new URL(s.includes('://') ? s : `nats://${s}`);
      } catch {
        throw new UserError(`NATS_URL: "${s}" is not a URL (expected e.g. ${DEFAULT_NATS_URL})`);
      }
      return { url: s, host: stripBrackets(u.hostname) || '127.0.0.1', port: Number(u.port || 4222) };
    });
}

/** host/port/user/database of DATABASE_URL. */
export function postgresEndpoint(databaseUrl) {
  let u;
  try {
    u = new URL(databaseUrl);
  } catch {
    throw new UserError(`DATABASE_URL: "${databaseUrl}" is not a URL (expected e.g. ${DEFAULT_DATABASE_URL})`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new UserError(`DATABASE_URL must start with postgres:// (got "${u.protocol}//…")`);
  }
  return {
    host: stripBrackets(u.hostname) || '127.0.0.1',
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username) || 'postgres',
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
  };
}

/** A URL with its password replaced by `***` (for printing). */
export function redactUrl(s) {
  try {
    const u = new URL(s);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return s;
  }
}

function stripBrackets(h) {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** True for addresses of this machine where we may start a server ourselves. */
export function isLocalHost(host) {
  return host === 'localhost' || host === '::1' || host === '0.0.0.0' || host === '::' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Resolves true when a TCP connection to host:port succeeds within `timeoutMs`. */
export function tcpAnswers(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `check` until it resolves true or `timeoutMs` passes. */
export async function waitFor(check, timeoutMs, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Executables and commands

export function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Full path of `name` on PATH, or null. */
export function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

export const npmCommand = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs a command with inherited stdio; resolves with its exit code (signals count as failure). */
export function run(cmd, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', cwd: ROOT, shell: process.platform === 'win32', ...options });
    child.once('error', (err) => {
      fail(`${cmd}: ${err.message}`);
      resolve(127);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/**
 * `npm ci` (or `npm install` without a lockfile) when node_modules is missing. When `npm ci`
 * fails (e.g. the registry lacks another platform's optional package, so npm calls the lockfile
 * out of sync), `npm install` is tried: it installs the same locked versions.
 */
export async function ensureDependencies() {
  if (existsSync(path.join(ROOT, 'node_modules'))) return;
  const hasLock = existsSync(path.join(ROOT, 'package-lock.json'));
  const first = hasLock ? 'ci' : 'install';
  say(`node_modules is missing: running npm ${first} (first run only)…`);
  let code = await run(npmCommand, [first, '--no-audit', '--no-fund']);
  if (code !== 0 && first === 'ci') {
    warn(`npm ci failed (exit ${code}); trying npm install, which keeps the locked versions…`);
    code = await run(npmCommand, ['install', '--no-audit', '--no-fund']);
  }
  if (code !== 0) throw new UserError(`installing dependencies failed (exit ${code}); fix the error above and try again`);
}

/** `npm run build` (tsc -b is incremental, so this is quick when nothing changed). */
export async function build() {
  const started = Date.now();
  say('building (npm run build)…');
  const code = await run(npmCommand, ['run', '--silent', 'build']);
  if (code !== 0) throw new UserError(`npm run build failed (exit ${code}); fix the compile errors above`);
  say(`build ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
