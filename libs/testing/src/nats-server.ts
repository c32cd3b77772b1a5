import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackChild } from './children';
import { LineBuffer } from './lines';

/** Options of `startPrivateNats`. */
export interface PrivateNatsOptions {
  /** Contents of a config file passed with `-c` (accounts, permissions, limits…). */
  config?: string;
  /** Extra command-line arguments. */
  args?: string[];
  /** Enable JetStream (`-js`, store in the temporary folder). Default true. */
  jetstream?: boolean;
  /** Deadline for "Server is ready". Default 15 000 ms. */
  readyTimeoutMs?: number;
  /** Server binary. Default NATS_SERVER_BIN, /usr/sbin/nats-server if present, else `nats-server` on PATH. */
  binary?: string;
}

/** A nats-server of the test's own, for fault tests. Never touches the machine's shared server. */
export interface PrivateNats {
  /** `nats://127.0.0.1:<port>`; stays the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** Temporary folder holding the JetStream store and the config file. */
  readonly dir: string;
  /** The server's recent log lines. */
  logs(): string[];
  running(): boolean;
  /** Graceful stop (SIGTERM); the store is kept so `restart()` brings streams back. */
  stop(): Promise<void>;
  /** SIGKILL (store kept). */
  kill(): Promise<void>;
  /** Stops it if running, then starts it again on the same port and store. */
  restart(): Promise<void>;
  /** Stops it and deletes the temporary folder. Call in afterAll. */
  close(): Promise<void>;
}

function defaultBinary(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  return existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  exitedFlag: { done: boolean };
}

/** Starts a private nats-server on a random free port with a temporary store folder. */
export async function startPrivateNats(options: PrivateNatsOptions = {}): Promise<PrivateNats> {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-nats-'));
  const binary = options.binary ?? defaultBinary();
  const output = new LineBuffer(300);
  let configFile: string | undefined;
  if (options.config !== undefined) {
    configFile = join(dir, 'nats.conf');
    writeFileSync(configFile, options.config);
  }

  const launch = (port: number): Promise<{ run: Running; port: number }> => {
    const args = ['-a', '127.0.0.1', '-p', String(port)];
    if (options.jetstream ?? true) args.push('-js', '-sd', join(dir, 'store'));
    if (configFile) args.push('-c', configFile);
    args.push(...(options.args ?? []));
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    const exitedFlag = { done: false };
    const exited = new Promise<void>((r) =>
      child.on('exit', () => {
        exitedFlag.done = true;
        r();
      }),
    );
    return new Promise((resolve, reject) => {
      let listening = 0;
      const timeoutMs = options.readyTimeoutMs ?? 15_000;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`nats-server not ready within ${timeoutMs} ms\n${output.text()}`));
      }, timeoutMs);
      const onLine = (line: string): void => {
        const m = /Listening for client connections on [^\s]*:(\d+)/.exec(line);
        if (m) listening = Number(m[1]);
        if (/Server is ready/.test(line) && listening > 0) {
          clearTimeout(timer);
          resolve({ run: { child, exited, exitedFlag }, port: listening });
        }
      };
      output.attach(child.stderr, onLine);
      output.attach(child.stdout, onLine);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      void exited.then(() => {
        clearTimeout(timer);
        setImmediate(() => reject(new Error(`nats-server exited before it was ready\n${output.text()}`)));
      });
    });
  };

  const first = await launch(-1);
  const fixedPort = first.port;
  let run = first.run;

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    if (run.exitedFlag.done) return;
    run.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      run.exited,
      new Promise<void>((r) => {
        timer = setTimeout(() => {
          run.child.kill('SIGKILL');
          r();
        }, 10_000);
      }),
    ]);
    clearTimeout(timer);
    await run.exited;
  };

  return {
    url: `nats://127.0.0.1:${fixedPort}`,
    port: fixedPort,
    dir,
    logs: () => output.all(),
    running: () => !run.exitedFlag.done,
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
    async restart() {
      await terminate('SIGTERM');
      ({ run } = await launch(fixedPort));
    },
    async close() {
      await terminate('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
