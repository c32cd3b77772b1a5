import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { installLeanAsyncResourceBind } from '../src/http/lean-async-resource-bind';

describe('the lean AsyncResource#bind', () => {
  const nativeBind = AsyncResource.prototype.bind;
  const nodeUsesDeprecate = Function.prototype.toString.call(nativeBind).includes('deprecate(');
  const installed = installLeanAsyncResourceBind();
  // the patch is process-wide: give the other suites of this worker Node's own back
  afterAll(() => {
    AsyncResource.prototype.bind = nativeBind;
  });

  it('is installed exactly where Node builds deprecate() wrappers per call, once', () => {
    expect(installed).toBe(nodeUsesDeprecate);
    expect(installLeanAsyncResourceBind()).toBe(installed);
  });

  it('runs the function in the async context it was bound in', () => {
    const als = new AsyncLocalStorage<string>();
    const bound = als.run('bound here', () => AsyncResource.bind(() => als.getStore()));
    const instanceBound = als.run('instance', () => new AsyncResource('test').bind(() => als.getStore()));
    expect(als.run('called here', () => bound())).toBe('bound here');
    expect(als.run('called here', () => instanceBound())).toBe('instance');
  });

  it('passes arguments and return values, keeps length, and uses thisArg or the caller’s this', () => {
    const resource = new AsyncResource('test');
    function f(this: unknown, a: number, b: number): [unknown, number] {
      return [this, a + b];
    }
    const free = resource.bind(f);
    // (thisArg is missing from @types/node's signature but supported by Node)
    const bindWithThis = resource.bind as unknown as (this: AsyncResource, fn: typeof f, thisArg: unknown) => typeof f;
    const fixed = bindWithThis.call(resource, f, 'fixed this');
    expect(free.length).toBe(2);
    expect(fixed.length).toBe(2);
    const holder = { free };
    expect(holder.free(1, 2)).toEqual([holder, 3]);
    expect(fixed(2, 3)).toEqual(['fixed this', 5]);
  });

  it('keeps the (deprecated) asyncResource property', () => {
    const resource = new AsyncResource('test');
    const bound = resource.bind(() => 1) as (() => number) & { asyncResource: AsyncResource };
    expect(Object.keys(bound)).toContain('asyncResource');
    const other = new AsyncResource('other');
    const quiet = process.noDeprecation; // the accessor warns (DEP0172) as Node's does
    process.noDeprecation = true;
    try {
      bound.asyncResource = other;
      expect(bound.asyncResource).toBe(other);
    } finally {
      process.noDeprecation = quiet;
    }
  });

  it('refuses a non-function as Node does', () => {
    expect(() => new AsyncResource('test').bind(42 as unknown as () => void)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }) as Error,
    );
  });
});
