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
