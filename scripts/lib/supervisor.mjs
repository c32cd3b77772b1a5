// Child processes of the local runner: tagged output, restart with capped backoff, orderly stop.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { fail, tag, warn } from './common.mjs';

const BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000];
/** Restarts in a row (each after less than STABLE_MS of uptime) before giving up. */
const MAX_RESTARTS = 5;
/** A child that ran this long before dying counts as healthy: its backoff starts over. */
const STABLE_MS = 60_000;

/** Every child still alive, so a crashing runner can kill them on its way out. */
const live = new Set();
/** Every child created, in order; `closed` stops new starts once shutdown has begun. */
export const registry = { children: [], closed: false };
process.on('exit', () => {
  for (const child of live) child.killNow('SIGKILL');
});

/** Default importance filter for `--quiet`: warnings and errors only. */
export function importantLine(line, stream) {
  const t = line.trimStart();
  if (t.startsWith('{')) {
    try {
      const rec = JSON.parse(t);
      const level = String(rec.level ?? '').toLowerCase();
      return level === 'warn' || level === 'error' || level === 'fatal';
    } catch {
      // not JSON after all
    }
  }
  if (/\[(WRN|ERR|FTL)\]/.test(line)) return true; // nats-server
  if (/\b(WARNING|ERROR|FATAL|PANIC):/.test(line)) return true; // postgres
  if (/\[(INF|DBG|TRC)\]/.test(line) || /\b(LOG|DEBUG\d?|INFO|NOTICE|DETAIL|HINT|STATEMENT):/.test(line)) return false;
  return stream === 'stderr';
}

/**
 * A supervised child process.
 * options: name, command, args, env, cwd, uid, gid, quiet, restart (default true),
 * stopSignal (default SIGTERM), stopTimeoutMs (default 15 000), onLine(line, stream),
 * onGiveUp(child), isImportant(line, stream).
 */
export class Child {
  constructor(options) {
    this.name = options.name;
    this.options = { restart: true, stopSignal: 'SIGTERM', stopTimeoutMs: 15_000, isImportant: importantLine, ...options };
    this.proc = null;
    this.stopping = false;
    this.gaveUp = false;
    this.restarts = 0;
    this.startedAt = 0;
    this.restartTimer = null;
    this.exitWaiters = [];
    /** Set from the child's own output (the services log their URL when ready). */
    this.url = null;
    registry.children.push(this);
  }

  get running() {
    return this.proc !== null;
  }

  start() {
    if (registry.closed) {
      this.stopping = true;
      return;
    }
    const o = this.options;
    this.startedAt = Date.now();
    let proc;
    try {
      proc = spawn(o.command, o.args ?? [], {
        cwd: o.cwd,
        env: o.env,
        // own process group: a Ctrl-C in the terminal reaches only the runner, which stops
        // the children in order (services first, then the servers they use)
        detached: process.platform !== 'win32',
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(o.uid !== undefined ? { uid: o.uid, gid: o.gid } : {}),
      });
    } catch (err) {
      this.onExit(null, null, err);
      return;
    }
    this.proc = proc;
    live.add(this);
    this.pipe(proc.stdout, 'stdout');
    this.pipe(proc.stderr, 'stderr');
    let ended = false;
    const end = (code, signal, err) => {
      if (ended) return;
      ended = true;
      this.onExit(code, signal, err);
    };
    proc.once('error', (err) => end(null, null, err));
    proc.once('exit', (code, signal) => end(code, signal, null));
  }

  pipe(stream, name) {
    const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
    const prefix = tag(this.name);
    const out = name === 'stderr' ? process.stderr : process.stdout;
    rl.on('line', (line) => {
      this.options.onLine?.(line, name);
      if (this.options.quiet && !this.options.isImportant(line, name)) return;
      out.write(`${prefix} ${line}\n`);
    });
  }

  onExit(code, signal, err) {
    this.proc = null;
    live.delete(this);
    const waiters = this.exitWaiters.splice(0);
    for (const w of waiters) w({ code, signal });
    if (this.stopping) return;

    const how = err ? `could not run (${err.message})` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const uptime = Date.now() - this.startedAt;
    if (uptime >= STABLE_MS) this.restarts = 0;
    if (!this.options.restart) {
      fail(`${this.name} ${how}`);
      this.options.onGiveUp?.(this);
      return;
    }
    if (this.restarts >= MAX_RESTARTS) {
      this.gaveUp = true;
      fail(`${this.name} ${how}; it crashed ${this.restarts + 1} times in a row, not restarting it again (see its errors above)`);
      this.options.onGiveUp?.(this);
      return;
    }
    const delay = BACKOFF_MS[Math.min(this.restarts, BACKOFF_MS.length - 1)];
    this.restarts += 1;
    fail(`${this.name} ${how} unexpectedly; restarting in ${delay / 1000} s (restart ${this.restarts} of ${MAX_RESTARTS})`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopping) this.start();
    }, delay);
  }

  /** Resolves with {code, signal} when the current process exits (immediately if none). */
  exited() {
    if (!this.proc) return Promise.resolve({ code: null, signal: null });
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /** Sends a signal to the process (or its whole group), ignoring "already gone". */
  killNow(signal, group = true) {
    const pid = this.proc?.pid;
    if (!pid) return;
    try {
      if (group && process.platform !== 'win32') process.kill(-pid, signal);
      else process.kill(pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // gone
      }
    }
  }

  /**
   * Stops the child: its stop signal, then (after stopTimeoutMs) `escalate` signals one by one,
   * SIGKILL to the whole process group last. Never restarts it afterwards.
   */
  async stop({ escalate = [] } = {}) {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    if (!this.proc) return;
    const exited = this.exited();
    this.killNow(this.options.stopSignal, false);
    const timedOut = (ms) => new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
    if ((await Promise.race([exited, timedOut(this.options.stopTimeoutMs)])) !== 'timeout') return;
    for (const signal of escalate) {
      warn(`${this.name} did not stop in time; sending ${signal}`);
      this.killNow(signal, false);
      if ((await Promise.race([exited, timedOut(5_000)])) !== 'timeout') return;
    }
    warn(`${this.name} did not stop within ${this.options.stopTimeoutMs / 1000} s; killing it (SIGKILL)`);
    this.killNow('SIGKILL', true);
    await Promise.race([exited, timedOut(5_000)]);
  }
}
