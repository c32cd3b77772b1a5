import type { TypeMetadata } from 'class-transformer';
import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

/**
 * OpenAPI schemas generated from the class-validator (and class-transformer `@Type`) metadata
 * of the contract DTOs — the same metadata that validates every request and reply — so the
 * document cannot drift from what the gateway and the coordinator actually accept. Contract
 * classes carry no NestJS decorators; the gateway only reads their metadata.
 */
export type SchemaObject = Record<string, unknown>;
type Ctor = abstract new (...args: never[]) => object;

interface TypeStorage {
  findTypeMetadata(target: Function, propertyName: string): TypeMetadata | undefined;
}
// class-transformer keeps its @Type() metadata in an internal storage object it does not re-export
// eslint-disable-next-line @typescript-eslint/no-require-imports
const typeStorage = (require('class-transformer/cjs/storage') as { defaultMetadataStorage: TypeStorage }).defaultMetadataStorage;

const COMPONENT_PREFIX = '#/components/schemas/';

/** A `$ref` to the component of a class, `{ type: array, items: $ref }` with `isArray`. */
export interface RefOptions {
  isArray?: boolean;
}

/** Collects component schemas for DTO classes (and their nested classes), keyed by class name. */
export class SchemaRegistry {
  private readonly schemas = new Map<string, SchemaObject>();
  private readonly owners = new Map<string, Function>();
  private readonly notes: Array<{ cls: Ctor; property: string; extra: SchemaObject }> = [];

  /** Registers the class (and everything it nests) and returns a `$ref` to it. */
  ref(cls: Ctor, opts: RefOptions = {}): SchemaObject {
    this.ensure(cls);
    const ref = { $ref: `${COMPONENT_PREFIX}${cls.name}` };
    return opts.isArray ? { type: 'array', items: ref } : ref;
  }

  /** Adds a hand-written component (e.g. the error body). */
  define(name: string, schema: SchemaObject): SchemaObject {
    this.schemas.set(name, schema);
    return { $ref: `${COMPONENT_PREFIX}${name}` };
  }

  /** The property schemas of a flat class (query DTOs), with whether each is required. */
  properties(cls: Ctor): Array<{ name: string; required: boolean; schema: SchemaObject }> {
    const built = this.build(cls);
    const required = new Set((built.required as string[] | undefined) ?? []);
    return Object.entries(built.properties as Record<string, SchemaObject>).map(([name, schema]) => ({
      name,
      required: required.has(name),
      schema,
    }));
  }

  /** Adds documentation to a generated property (rules the gateway enforces beyond the class's validators). */
  annotate(cls: Ctor, property: string, extra: SchemaObject): void {
    this.notes.push({ cls, property, extra });
  }

  /** Every component collected so far. */
  all(): Record<string, SchemaObject> {
    const out = Object.fromEntries(this.schemas);
    for (const { cls, property, extra } of this.notes) {
      const props = out[cls.name]?.properties as Record<string, SchemaObject> | undefined;
      if (props?.[property]) props[property] = { ...props[property], ...extra };
    }
    return out;
  }

  private ensure(cls: Ctor): void {
    const owner = this.owners.get(cls.name);
    if (owner === cls) return;
    if (owner) throw new Error(`two DTO classes are named ${cls.name}; OpenAPI component names must be unique`);
    this.owners.set(cls.name, cls);
    this.schemas.set(cls.name, {}); // placeholder: breaks cycles
    this.schemas.set(cls.name, this.build(cls));
  }

  private build(cls: Ctor): SchemaObject {
    const storage = getMetadataStorage();
    const metas = storage.getTargetValidationMetadatas(cls, '', true, false);
    const byProperty = new Map<string, ValidationMetadata[]>();
    for (const m of metas) {
      const list = byProperty.get(m.propertyName) ?? [];
      list.push(m);
      byProperty.set(m.propertyName, list);
    }
    const properties: Record<string, SchemaObject> = {};
    const required: string[] = [];
    for (const [name, list] of byProperty) {
      const optional = list.some((m) => m.type === 'conditionalValidation' && m.name === 'isOptional');
      properties[name] = this.property(cls, name, list, optional);
      if (!optional) required.push(name);
    }
    const schema: SchemaObject = { type: 'object', properties, additionalProperties: false };
    if (required.length > 0) schema.required = required;
    return schema;
  }

  private property(cls: Ctor, name: string, list: ValidationMetadata[], optional: boolean): SchemaObject {
    const own: SchemaObject = {};
    const items: SchemaObject = {};
    let isArray = false;
    for (const m of list) {
      if (m.type === 'nestedValidation') {
        const nested = typeStorage.findTypeMetadata(cls, name)?.typeFunction() as Ctor | undefined;
        if (nested) {
          if (m.each) {
            isArray = true;
            Object.assign(items, this.ref(nested));
          } else {
            Object.assign(own, this.ref(nested));
          }
        }
        continue;
      }
      if (m.type !== 'customValidation' || !m.name) continue;
      if (m.name === 'isArray') {
        isArray = true;
        continue;
      }
      if (m.name === 'arrayMinSize') own.minItems = m.constraints[0] as number;
      else if (m.name === 'arrayMaxSize') own.maxItems = m.constraints[0] as number;
      else applyConstraint(m.each ? items : own, m);
    }
    let schema: SchemaObject;
    if (isArray || Object.keys(items).length > 0) {
      schema = { type: 'array', items, ...withoutType(own) };
    } else if (typeof own.$ref === 'string') {
      // OpenAPI 3.0 ignores siblings of $ref: wrap it to keep `nullable`
      schema = optional ? { allOf: [{ $ref: own.$ref }], nullable: true } : { $ref: own.$ref };
      return schema;
    } else {
      schema = own;
    }
    if (optional) schema.nullable = true;
    return schema;
  }
}

function withoutType(s: SchemaObject): SchemaObject {
  const { type: _t, ...rest } = s;
  return rest;
}

function applyConstraint(target: SchemaObject, m: ValidationMetadata): void {
  const c = m.constraints ?? [];
  switch (m.name) {
    case 'isString':
      target.type = 'string';
      break;
    case 'isInt':
      target.type = 'integer';
      break;
    case 'isNumber':
      target.type = 'number';
      break;
    case 'isBoolean':
      target.type = 'boolean';
      break;
    case 'isUuid':
      target.type = 'string';
      target.format = 'uuid';
      break;
    case 'isIso8601':
      target.type = 'string';
      target.format = 'date-time';
      break;
    case 'isIn': {
      const values = c[0] as unknown[];
      target.enum = [...values];
      if (values.every((v) => typeof v === 'string')) target.type = 'string';
      break;
    }
    case 'matches':
      target.type = 'string';
      target.pattern = (c[0] as RegExp).source;
      break;
    case 'isLength':
      target.type = 'string';
      if (typeof c[0] === 'number') target.minLength = c[0];
      if (typeof c[1] === 'number') target.maxLength = c[1];
      break;
    case 'min':
      target.minimum = c[0] as number;
      break;
    case 'max':
      target.maximum = c[0] as number;
      break;
    case 'isPlainObject':
      target.type = 'object';
      target.additionalProperties = true;
      break;
    case 'isStringRecord':
      target.type = 'object';
      target.additionalProperties = { type: 'string' };
      target.description = 'Flat object of string values';
      break;
    case 'maxJsonBytes':
      target['x-max-json-bytes'] = c[0] as number;
      target.description = `At most ${c[0] as number} bytes of JSON`;
      break;
    default:
      break;
  }
}

/** The gateway's registry: controllers register the classes they answer with at decoration time. */
export const openApiSchemas = new SchemaRegistry();
