import { SwarmApiError, SwarmClient } from '@swarm-mesh/agent-sdk';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type OptionSpec, parseArgs, UsageError } from './args';
import { ADMIN_COMMANDS, ADMIN_GROUP_DEFAULTS } from './admin-commands';
import { type CommandDef, COMMANDS as TASK_COMMANDS, GROUP_DEFAULTS as TASK_GROUP_DEFAULTS } from './commands';
import { restClient } from './rest';
import { WORKFLOW_COMMANDS, WORKFLOW_GROUP_DEFAULTS } from './workflow-commands';

import { type CliIO, exitOnBrokenPipe, processIO } from './io';

const COMMANDS: CommandDef[] = [...TASK_COMMANDS, ...ADMIN_COMMANDS, ...WORKFLOW_COMMANDS];
const GROUP_DEFAULTS: Record<string, string> = { ...TASK_GROUP_DEFAULTS, ...ADMIN_GROUP_DEFAULTS, ...WORKFLOW_GROUP_DEFAULTS };

const DEFAULT_URL = 'http://127.0.0.1:3000';
/** Written by the local runner (`npm start`) when it generates the bootstrap admin key. */
const LOCAL_KEY_FILE = join('.data', 'admin-api-key');

export const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: 'url', type: 'string', placeholder: 'url', description: `Gateway URL (default $SWARM_URL or ${DEFAULT_URL})` },
  { name: 'api-key', type: 'string', placeholder: 'key', description: 'API key (default $SWARM_API_KEY, else ./.data/admin-api-key)' },
  { name: 'json', type: 'boolean', description: 'Machine-readable output: the API’s JSON' },
  { name: 'help', short: 'h', type: 'boolean', description: 'Show help' },
];

function optionLines(specs: OptionSpec[]): string {
  const rows = specs.map((s) => [
    `${s.short ? `-${s.short}, ` : ''}--${s.name}${s.type === 'boolean' ? '' : ` <${s.placeholder ?? 'value'}>`}`,
    s.description,
  ]);
  const width = Math.max(...rows.map(([l]) => l!.length));
  return rows.map(([l, d]) => `  ${l!.padEnd(width)}  ${d}`).join('\n');
}

export function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => `${c.name} ${c.params}`.trim().length));
  return [
    'swarm — command line for Swarm Mesh',
    '',
    'Usage: swarm <command> [arguments] [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${`${c.name} ${c.params}`.trim().padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    optionLines(GLOBAL_OPTIONS),
    '',
    'Run `swarm <command> --help` for the options of a command.',
    'Exit codes: 0 ok, 1 API error (or a watched task that did not succeed), 2 usage error.',
    '',
  ].join('\n');
}

export function commandHelp(cmd: CommandDef): string {
  const lines = [
    `Usage: swarm ${cmd.name}${cmd.params ? ` ${cmd.params}` : ''}${cmd.options.length ? ' [options]' : ''}`,
    '',
    cmd.summary + '.',
  ];
  if (cmd.help) lines.push(cmd.help);
  if (cmd.options.length) lines.push('', 'Options:', optionLines(cmd.options));
  lines.push('', 'Global options:', optionLines(GLOBAL_OPTIONS), '');
  return lines.join('\n');
}

/** Finds the command and the argv left once its words are removed. */
function resolveCommand(argv: string[]): { cmd: CommandDef | undefined; rest: string[]; words: string[] } {
  let index = -1;
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    if (t === '--') break;
    if (t.startsWith('-') && t !== '-') {
      const spec = GLOBAL_OPTIONS.find((g) => `--${g.name}` === t || (g.short && `-${g.short}` === t));
      if (spec && spec.type !== 'boolean') i++;
      continue;
    }
    index = i;
    break;
  }
  if (index < 0) return { cmd: undefined, rest: argv, words: [] };
  const first = argv[index]!;
  const second = argv[index + 1];
  const byName = (name: string): CommandDef | undefined => COMMANDS.find((c) => c.name === name);
  if (second !== undefined && !second.startsWith('-')) {
    const two = byName(`${first} ${second}`);
    if (two) return { cmd: two, rest: [...argv.slice(0, index), ...argv.slice(index + 2)], words: [first, second] };
    if (GROUP_DEFAULTS[first]) throw new UsageError(`unknown ${first} command "${second}"; try: ${subcommands(first).join(', ')}`);
  }
  const cmd = byName(first) ?? (GROUP_DEFAULTS[first] ? byName(GROUP_DEFAULTS[first]) : undefined);
  return { cmd, rest: [...argv.slice(0, index), ...argv.slice(index + 1)], words: [first] };
}

function subcommands(group: string): string[] {
  return COMMANDS.filter((c) => c.name.startsWith(`${group} `)).map((c) => c.name.slice(group.length + 1));
}

function readLocalKey(io: CliIO): string | undefined {
  try {
    const key = readFileSync(join(io.cwd, LOCAL_KEY_FILE), 'utf8').trim();
    return key || undefined;
  } catch {
    return undefined;
  }
}

function printApiError(io: CliIO, err: SwarmApiError, json: boolean, hadKey: boolean): void {
  if (json) {
    io.stderr.write(`${JSON.stringify({ code: err.code, message: err.message, details: err.details })}\n`);
    return;
  }
  let text = `error: ${err.code}: ${err.message}\n`;
  const violations = err.details.violations;
  if (Array.isArray(violations)) {
    for (const v of violations as Array<{ path?: string; message?: string }>) text += `  - ${v.path ?? '?'}: ${v.message ?? ''}\n`;
  }
  if (err.code === 'DUPLICATE_IDEMPOTENCY_KEY' && typeof err.details.existingTaskId === 'string') {
    text += `  existing task: ${err.details.existingTaskId}\n`;
  }
  if (err.code === 'UNAUTHENTICATED' && !hadKey) text += '  hint: set SWARM_API_KEY or pass --api-key\n';
  if (err.traceId && err.status >= 500) text += `  trace: ${err.traceId}\n`;
  io.stderr.write(text);
}

/** Code of a command-line mistake in `--json` error output; API errors keep the API's own codes. */
export const USAGE_ERROR_CODE = 'USAGE_ERROR';

/**
 * A mistake in the command line: a hint to `--help`, or with `--json` the same `{code, message,
 * details}` line as an API error (details.command names the command when one was recognised).
 */
function printUsageError(io: CliIO, err: UsageError, command: CommandDef | undefined, json: boolean): void {
  const which = err.command ?? command?.name;
  if (json) {
    io.stderr.write(`${JSON.stringify({ code: USAGE_ERROR_CODE, message: err.message, details: which ? { command: which } : {} })}\n`);
    return;
  }
  io.stderr.write(`swarm: ${err.message}\nRun 'swarm ${which ? `${which} ` : ''}--help' for usage.\n`);
}

/** Runs the CLI; resolves to the exit code. Never calls process.exit (tests run it in-process). */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  let command: CommandDef | undefined;
  let json = argv.includes('--json');
  let hadKey = false;
  try {
    if (argv.length === 0) {
      io.stderr.write(generalHelp());
      return 2;
    }
    if (argv[0] === 'help') {
      const topic = argv.slice(1).join(' ');
      if (!topic) {
        io.stdout.write(generalHelp());
        return 0;
      }
      const cmd = COMMANDS.find((c) => c.name === topic) ?? COMMANDS.find((c) => c.name === GROUP_DEFAULTS[topic]);
      if (!cmd) throw new UsageError(`unknown command "${topic}"`);
      io.stdout.write(commandHelp(cmd));
      return 0;
    }
    const { cmd, rest, words } = resolveCommand(argv);
    if (!cmd) {
      if (words.length === 0) {
        const parsed = parseArgs(rest, GLOBAL_OPTIONS);
        if (parsed.options.help) {
          io.stdout.write(generalHelp());
          return 0;
        }
        throw new UsageError('no command given');
      }
      throw new UsageError(`unknown command "${words[0]}"`);
    }
    command = cmd;
    const parsed = parseArgs(rest, [...GLOBAL_OPTIONS, ...cmd.options], cmd.name);
    if (parsed.options.help) {
      io.stdout.write(commandHelp(cmd));
      return 0;
    }
    json = parsed.options.json === true;
    const args = parsed.positionals;
    if (args.length < cmd.minArgs) throw new UsageError(`missing ${cmd.params || 'arguments'}`, cmd.name);
    if (args.length > cmd.maxArgs) throw new UsageError(`unexpected argument "${args[cmd.maxArgs]}"`, cmd.name);
    const url = (parsed.options.url as string | undefined) ?? io.env.SWARM_URL ?? DEFAULT_URL;
    const apiKey = (parsed.options['api-key'] as string | undefined) ?? (io.env.SWARM_API_KEY || undefined) ?? readLocalKey(io);
    hadKey = apiKey !== undefined;
    let client: SwarmClient | undefined;
    return await cmd.run({
      name: cmd.name,
      args,
      opts: parsed.options,
      json,
      io,
      client: () => (client ??= new SwarmClient({ url, env: {}, ...(apiKey ? { apiKey } : {}), ...(io.fetch ? { fetch: io.fetch } : {}) })),
      rest: restClient(url, apiKey, io.fetch ?? fetch),
    });
  } catch (err) {
    if (err instanceof UsageError) {
      printUsageError(io, err, command, json);
      return 2;
    }
    if (err instanceof SwarmApiError) {
      printApiError(io, err, json, hadKey);
      return 1;
    }
    io.stderr.write(`error: ${(err as Error)?.message ?? String(err)}\n`);
    return 1;
  }
}

/** Entry point of `bin/swarm.js`. */
export function run(): void {
  exitOnBrokenPipe(process.stdout);
  exitOnBrokenPipe(process.stderr);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`swarm: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
