import type { Logger, LogFields, LogLevel } from '@swarm-mesh/telemetry';
import { Agent, type AgentOptions } from '@swarm-mesh/agent-sdk';
import { testNatsUrl } from '@swarm-mesh/testing';

export interface LogRecord {
  level: LogLevel;
  msg: string;
  fields: LogFields;
}

/** A logger that keeps every record (child fields merged) for assertions. */
export function captureLogger(records: LogRecord[] = [], base: LogFields = {}): Logger & { records: LogRecord[] } {
  const at =
    (level: LogLevel) =>
    (msg: string, fields?: LogFields): void => {
      records.push({ level, msg, fields: { ...base, ...fields } });
    };
  return {
    records,
    level: 'debug',
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields: LogFields) => captureLogger(records, { ...base, ...fields }),
  };
}

/** Tracks agents made by a test file so afterEach/afterAll can stop them. */
export class AgentPool {
  private readonly agents: Agent[] = [];

  constructor(
    private readonly namespace: string,
    private readonly natsUrl: string = testNatsUrl(),
  ) {}

  make(options: Partial<AgentOptions> & { id: string }): Agent {
    const agent = new Agent({
      domain: 'infra',
      natsUrl: this.natsUrl,
      namespace: this.namespace,
      logger: captureLogger(),
      resultBatchDelayMs: 2,
      shutdownGraceMs: 2_000,
      pullExpiresMs: 1_000,
      registerRetry: { initialDelayMs: 20, maxDelayMs: 200, requestTimeoutMs: 1_000 },
      ...options,
    });
    this.agents.push(agent);
    return agent;
  }

  async stopAll(): Promise<void> {
    const all = this.agents.splice(0);
    await Promise.all(all.map((a) => a.stop()));
  }
}
