import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';

/** Capability names: lowercase, digits, `_ . : -`, starting with a letter or digit. */
export const CAPABILITY_RE = /^[a-z0-9][a-z0-9_.:-]{0,127}$/;
/** Agent ids: usable as a subject token. */
export const AGENT_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
/** Tenant ids. */
export const TENANT_ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A flat object of string → string with at most `maxEntries` entries (labels). */
export function IsStringRecord(maxEntries = 32, maxLength = 256, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isStringRecord',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `$property must be an object of at most ${maxEntries} string values (≤ ${maxLength} chars)`, ...options },
      validator: {
        validate(value: unknown): boolean {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
          const entries = Object.entries(value);
          if (entries.length > maxEntries) return false;
          return entries.every(([k, v]) => k.length > 0 && k.length <= 128 && typeof v === 'string' && v.length <= maxLength);
        },
      },
    });
  };
}

/** The JSON encoding of the value is at most `maxBytes` bytes. */
export function MaxJsonBytes(maxBytes: number, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'maxJsonBytes',
      target: target.constructor,
      propertyName: propertyName as string,
      constraints: [maxBytes],
      options: {
        message: (args: ValidationArguments) => `${args.property} must encode to at most ${String(args.constraints[0])} bytes of JSON`,
        ...options,
      },
      validator: {
        validate(value: unknown): boolean {
          if (value === undefined) return true;
          try {
            return Buffer.byteLength(JSON.stringify(value) ?? '') <= maxBytes;
          } catch {
            return false;
          }
        },
      },
    });
  };
}

/** Plain JSON object (not an array, not null). */
export function IsPlainObject(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isPlainObject',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be a JSON object', ...options },
      validator: {
        validate: (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value),
      },
    });
  };
}
