import { currentSpanId, currentTraceId } from './telemetry';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

/** Structured logger: one JSON object per line on stdout, carrying the active trace and span ids. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  readonly level: LogLevel;
}

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && v in LEVELS;
}

export interface LoggerOptions {
  /** `service` field of every line. */
  service: string;
  /** Minimum level. Default: `LOG_LEVEL` or `info`. */
  level?: LogLevel;
  /** Where lines go. Default process.stdout. */
  write?: (line: string) => void;
  /** Fields added to every line. */
  base?: LogFields;
}

function serialiseError(err: unknown): unknown {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; details?: unknown };
    return { name: e.name, message: e.message, code: e.code, details: e.details, stack: e.stack };
  }
  return err;
}

export function createLogger(options: LoggerOptions): Logger {
  const envLevel = process.env.LOG_LEVEL;
  const level: LogLevel = options.level ?? (isLogLevel(envLevel) ? envLevel : 'info');
  const min = LEVELS[level];
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const base = options.base ?? {};
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (LEVELS[lvl] < min) return;
    const record: LogFields = { ts: new Date().toISOString(), level: lvl, service: options.service, msg, ...base };
    const traceId = currentTraceId();
    if (traceId) {
      record.trace_id = traceId;
      record.span_id = currentSpanId();
    }
    if (fields) {
      for (const [k, v] of Object.entries(fields)) record[k] = k === 'err' || k === 'error' ? serialiseError(v) : v;
    }
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ ts: record.ts, level: lvl, service: options.service, msg, note: 'unserialisable fields' });
    }
    write(line + '\n');
  };
  return {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, level, base: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, libraries used without a logger). */
export const silentLogger: Logger = {
  level: 'error',
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
