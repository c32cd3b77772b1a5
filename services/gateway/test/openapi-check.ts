import type { INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';

const METHODS = ['get', 'post', 'put', 'delete', 'patch', 'all', 'options', 'head'];

/** Every HTTP route the Nest app registered (all modules, all issues), as `METHOD /path/{param}`; excluded controllers left out. */
export function registeredRoutes(app: INestApplication): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  for (const mod of app.get(ModulesContainer).values()) {
    for (const wrapper of mod.controllers.values()) {
      const cls = wrapper.metatype as (new (...a: never[]) => object) | null;
      if (!cls) continue;
      if (Reflect.getMetadata('swagger/apiExcludeController', cls)) continue;
      const base = ([] as string[]).concat((Reflect.getMetadata(PATH_METADATA, cls) as string | string[] | undefined) ?? '')[0] ?? '';
      for (const name of Object.getOwnPropertyNames(cls.prototype)) {
        const fn = (cls.prototype as Record<string, unknown>)[name];
        if (typeof fn !== 'function' || name === 'constructor') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, fn) as number | undefined;
        if (method === undefined) continue;
        if (Reflect.getMetadata('swagger/apiExcludeEndpoint', fn)) continue;
        const sub = ([] as string[]).concat((Reflect.getMetadata(PATH_METADATA, fn) as string | string[] | undefined) ?? '')[0] ?? '';
        const path = `/${[base, sub].filter((s) => s && s !== '/').join('/')}`.replace(/\/+/g, '/').replace(/:([A-Za-z0-9_]+)/g, '{$1}');
        out.push({ method: METHODS[method] ?? String(method), path: path.length > 1 ? path.replace(/\/$/, '') : path });
      }
    }
  }
  return out;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Structural validation of an OpenAPI 3.0 document (the rules of the specification that a
 * generator can break): required top-level fields, every operation with responses and valid
 * status codes, unique operationIds, every templated path parameter declared as a required path
 * parameter, parameters with a schema, every $ref resolvable, every security requirement naming
 * a declared scheme. Returns the problems found (empty = valid).
 */
export function validateOpenApi(doc: unknown): string[] {
  const problems: string[] = [];
  if (!isObj(doc)) return ['document is not an object'];
  if (typeof doc.openapi !== 'string' || !/^3\.0\.\d+$/.test(doc.openapi))
    problems.push(`openapi must be 3.0.x (got ${String(doc.openapi)})`);
  const info = doc.info;
  if (!isObj(info) || typeof info.title !== 'string' || typeof info.version !== 'string')
    problems.push('info.title and info.version are required');
  if (!isObj(doc.paths)) return [...problems, 'paths is required'];
  const components = isObj(doc.components) ? doc.components : {};
  const schemes = isObj(components.securitySchemes) ? components.securitySchemes : {};
  const opIds = new Set<string>();
  const json = JSON.stringify(doc);
  for (const ref of new Set(json.match(/"\$ref":"[^"]+"/g) ?? [])) {
    const target = ref.slice(8, -1);
    if (!target.startsWith('#/')) {
      problems.push(`external $ref ${target}`);
      continue;
    }
    let node: unknown = doc;
    for (const part of target.slice(2).split('/')) node = isObj(node) ? node[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    if (node === undefined) problems.push(`unresolved $ref ${target}`);
  }
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith('/')) problems.push(`path ${path} must start with /`);
    if (!isObj(item)) {
      problems.push(`path ${path} is not an object`);
      continue;
    }
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'].includes(method)) continue;
      const where = `${method.toUpperCase()} ${path}`;
      if (!isObj(op)) {
        problems.push(`${where}: operation is not an object`);
        continue;
      }
      if (typeof op.operationId === 'string') {
        if (opIds.has(op.operationId)) problems.push(`${where}: duplicate operationId ${op.operationId}`);
        opIds.add(op.operationId);
      }
      if (!isObj(op.responses) || Object.keys(op.responses).length === 0) problems.push(`${where}: no responses`);
      else {
        for (const [code, r] of Object.entries(op.responses)) {
          if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(code)) problems.push(`${where}: bad response code ${code}`);
          if (!isObj(r) || (typeof r.description !== 'string' && typeof r.$ref !== 'string'))
            problems.push(`${where}: response ${code} needs a description`);
        }
      }
      const params = (Array.isArray(op.parameters) ? op.parameters : []) as Obj[];
      const seen = new Set<string>();
      for (const p of params) {
        if (!isObj(p) || typeof p.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(String(p.in))) {
          problems.push(`${where}: malformed parameter ${JSON.stringify(p).slice(0, 80)}`);
          continue;
        }
        const key = `${String(p.in)}:${p.name}`;
        if (seen.has(key)) problems.push(`${where}: parameter ${key} twice`);
        seen.add(key);
        if (!isObj(p.schema) && !isObj(p.content)) problems.push(`${where}: parameter ${p.name} has no schema`);
        if (p.in === 'path' && p.required !== true) problems.push(`${where}: path parameter ${p.name} must be required`);
        if (p.in === 'path' && !templated.includes(p.name)) problems.push(`${where}: path parameter ${p.name} not in the path`);
      }
      for (const t of templated) if (!seen.has(`path:${t}`)) problems.push(`${where}: path parameter {${t}} not declared`);
      if (op.requestBody !== undefined && (!isObj(op.requestBody) || !isObj(op.requestBody.content)))
        problems.push(`${where}: requestBody needs content`);
      for (const req of (Array.isArray(op.security) ? op.security : []) as Obj[]) {
        for (const name of Object.keys(req)) if (!(name in schemes)) problems.push(`${where}: unknown security scheme ${name}`);
      }
    }
  }
  return problems;
}
