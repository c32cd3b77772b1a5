import type { LoggerService } from '@nestjs/common';
import type { Logger } from '@swarm-mesh/telemetry';

/** Routes NestJS's own log lines into the structured JSON logger. */
export class NestJsonLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  private fields(params: unknown[]): Record<string, unknown> | undefined {
    const ctx = params.length > 0 ? params[params.length - 1] : undefined;
    return typeof ctx === 'string' ? { context: ctx } : undefined;
  }

  log(message: unknown, ...params: unknown[]): void {
    this.logger.info(String(message), this.fields(params));
  }
  error(message: unknown, ...params: unknown[]): void {
    const stack = params.length > 1 && typeof params[0] === 'string' ? params[0] : undefined;
    this.logger.error(String(message), { ...this.fields(params), ...(stack ? { stack } : {}) });
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.logger.warn(String(message), this.fields(params));
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.logger.debug(String(message), this.fields(params));
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.logger.debug(String(message), this.fields(params));
  }
}
