import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { checkShape, validatePlain } from '@swarm-mesh/contracts';

const PRIMITIVES = new Set<unknown>([String, Boolean, Number, Array, Object]);

/**
 * Validates bodies and queries against their DTO class with the same rules as the NATS side:
 * unknown fields, wrong types and `__proto__` keys are rejected with VALIDATION_FAILED. A JSON
 * body's shape (forbidden keys, depth, unstorable strings) was already checked by the body
 * parser (service-kit `installBodyParsers`, `parseJson`); queries are checked here.
 */
@Injectable()
export class StrictValidationPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const meta = metadata.metatype;
    if (metadata.type === 'custom' || !meta || PRIMITIVES.has(meta)) return value;
    if (metadata.type === 'body' || metadata.type === 'query') {
      if (metadata.type === 'query') checkShape(value);
      // no body (an empty one) validates as {}; a JSON `null` body is a value, not an object: refused
      return validatePlain(meta as new () => object, value === undefined ? {} : value, metadata.type === 'body' ? 'request body' : 'query');
    }
    return value;
  }
}
