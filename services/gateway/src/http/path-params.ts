import { Injectable, type PipeTransform } from '@nestjs/common';
import { AGENT_ID_RE, ValidationError } from '@swarm-mesh/contracts';
import { isUUID } from 'class-validator';

function invalid(name: string, message: string): ValidationError {
  return new ValidationError(`path parameter ${name}: ${message}`, [{ path: name, message, constraint: 'path' }]);
}

/** A UUID path parameter (task and dead-letter ids); anything else → 400 VALIDATION_FAILED. */
@Injectable()
export class UuidParamPipe implements PipeTransform<string, string> {
  transform(value: string, meta: { data?: string }): string {
    if (typeof value !== 'string' || !isUUID(value)) throw invalid(meta.data ?? 'id', 'must be a UUID');
    return value.toLowerCase();
  }
}

/** An agent id path parameter (`^[A-Za-z0-9_-]{1,128}$`). */
@Injectable()
export class AgentIdParamPipe implements PipeTransform<string, string> {
  transform(value: string, meta: { data?: string }): string {
    if (typeof value !== 'string' || !AGENT_ID_RE.test(value)) throw invalid(meta.data ?? 'id', `must match ${AGENT_ID_RE.source}`);
    return value;
  }
}

export const UUID_PARAM_SCHEMA = { type: 'string', format: 'uuid' };
export const AGENT_ID_PARAM_SCHEMA = { type: 'string', pattern: AGENT_ID_RE.source };
