import { AsyncResource } from 'node:async_hooks';
import { deprecate } from 'node:util';

const RESOURCE = Symbol('swarm.boundAsyncResource');
const DEP0172 = 'The asyncResource property on bound functions is deprecated';

/** The deprecated `asyncResource` accessor of a bound function: built once, shared by every bound function. */
const getResource = deprecate(
  function (this: Record<symbol, unknown>): unknown {
    return this[RESOURCE];
  },
  DEP0172,
  'DEP0172',
);
const setResource = deprecate(
  function (this: Record<symbol, unknown>, value: unknown): void {
    this[RESOURCE] = value;
  },
  DEP0172,
  'DEP0172',
);

type AnyFn = (...args: unknown[]) => unknown;

/** `fn` run in `resource`'s scope with the caller's `this`. */
function callerThisBound(resource: AsyncResource, fn: AnyFn): AnyFn {
  return function (this: unknown, ...args: unknown[]): unknown {
    return resource.runInAsyncScope(fn, this, ...args);
  };
}

/**
 * Replaces `AsyncResource.prototype.bind` (and so `AsyncResource.bind`) with an equivalent that
 * does not build two `util.deprecate()` wrappers per call. Node 20's `bind` creates them for the
 * deprecated `asyncResource` property (DEP0172) of every bound function, and Fastify's body parser
 * and Nest's interceptor chain bind several functions per request: at 500 single submits/s that
 * was ~6 % of the gateway's CPU (`deprecate` + `bind` in its profile). The bound function behaves
 * the same: it runs `fn` in the resource's async scope (AsyncLocalStorage, trace context), with
 * `thisArg` or the caller's `this`, keeps `fn.length`, and still has the deprecated accessor.
 *
 * Installed only where Node's own `bind` calls `deprecate` (checked from its source); returns
 * whether it was installed. Idempotent.
 */
export function installLeanAsyncResourceBind(): boolean {
  const original = AsyncResource.prototype.bind as AnyFn & { lean?: true };
  if (original.lean) return true;
  if (!Function.prototype.toString.call(original).includes('deprecate(')) return false;
  const lean = function bind(this: AsyncResource, fn: AnyFn, thisArg?: unknown): AnyFn {
    if (typeof fn !== 'function') return original.call(this, fn, thisArg) as AnyFn; // Node's own argument error
    const bound = thisArg === undefined ? callerThisBound(this, fn) : (this.runInAsyncScope.bind(this, fn, thisArg) as AnyFn);
    Object.defineProperties(bound, {
      length: { configurable: true, enumerable: false, value: fn.length, writable: false },
      asyncResource: { configurable: true, enumerable: true, get: getResource, set: setResource },
      [RESOURCE]: { configurable: true, enumerable: false, value: this, writable: true },
    });
    return bound;
  } as AnyFn & { lean?: true };
  lean.lean = true;
  AsyncResource.prototype.bind = lean as typeof AsyncResource.prototype.bind;
  return true;
}
