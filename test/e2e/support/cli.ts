import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@swarm-mesh/testing';

/** How a `swarm` run ended. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A `swarm` process still running: its output so far and its end. */
export interface CliRun {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
}

export interface CliOptions {
  /** SWARM_API_KEY; `null` leaves it unset. */
  key: string | null;
  /** SWARM_URL. */
  url: string;
  /** Killed (and the run rejected) after this long. Default 30 000 ms. */
  timeoutMs?: number;
}

/**
 * Runs `node cli/bin/swarm.js` as a user would, with SWARM_URL and SWARM_API_KEY in its
 * environment, in an empty working directory (so no `.data/admin-api-key` is picked up).
 */
export class CliRunner {
  private readonly cwd = mkdtempSync(join(tmpdir(), 'swarm-cli-'));
  private readonly live = new Set<ChildProcess>();

  constructor(private readonly defaults: CliOptions) {}

  start(args: string[], opts: Partial<CliOptions> = {}): CliRun {
    const o = { ...this.defaults, ...opts };
    const env: NodeJS.ProcessEnv = { ...process.env, SWARM_URL: o.url };
    delete env.SWARM_API_KEY;
    if (o.key !== null) env.SWARM_API_KEY = o.key;
    const child = spawn(process.execPath, [join(REPO_ROOT, 'cli', 'bin', 'swarm.js'), ...args], {
      cwd: this.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timeoutMs = o.timeoutMs ?? 30_000;
    const done = new Promise<CliResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`swarm ${args.join(' ')}: no exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        this.live.delete(child);
        resolve({ code, stdout, stderr });
      });
    });
    return { child, stdout: () => stdout, stderr: () => stderr, done };
  }

  run(args: string[], opts: Partial<CliOptions> = {}): Promise<CliResult> {
    return this.start(args, opts).done;
  }

  /** Runs and parses stdout as JSON; throws with the output when the exit code is not `code`. */
  async json<T>(args: string[], code = 0): Promise<T> {
    const r = await this.run([...args, '--json']);
    if (r.code !== code) throw new Error(`swarm ${args.join(' ')} --json: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  close(): void {
    for (const c of this.live) c.kill('SIGKILL');
    rmSync(this.cwd, { recursive: true, force: true });
  }
}
