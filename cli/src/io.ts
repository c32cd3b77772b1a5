import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';

/** Where the CLI reads and writes; tests pass their own. */
export interface CliIO {
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  /** Directory `.data/admin-api-key` and relative `@file` paths are resolved against. */
  cwd: string;
  readStdin(): Promise<string>;
  readFile(path: string): Promise<string>;
  /** Replaces the global fetch (tests). */
  fetch?: typeof fetch;
  /** Asks a question on a terminal and resolves with the answer line (absent when stdin is not a terminal). */
  prompt?: (question: string) => Promise<string | undefined>;
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Ends the process quietly when the reader of `stream` goes away (`swarm tasks --json | head`):
 * the write fails with EPIPE (Node ignores SIGPIPE), and without a listener Node would print an
 * "Unhandled 'error' event" stack trace and exit 1. Like ripgrep and other filters that handle a
 * broken pipe, the CLI then exits 0 without a word: the reader asked for no more output, and
 * nothing can be reported on a pipe that is closed anyway. Stops at once, so `watch` does not go on
 * polling for nobody. Other write errors are rethrown, as if there were no listener.
 */
export function exitOnBrokenPipe(stream: NodeJS.EventEmitter, exit: (code: number) => void = (code) => process.exit(code)): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    exit(0);
  });
}

/** The real process. */
export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    readStdin: readAllStdin,
    readFile: (path) => readFile(path, 'utf8'),
    ...(process.stdin.isTTY && process.stdout.isTTY
      ? {
          prompt: async (question: string): Promise<string | undefined> => {
            const rl = createInterface({ input: process.stdin, output: process.stdout });
            try {
              return await rl.question(question);
            } finally {
              rl.close();
            }
          },
        }
      : {}),
  };
}
