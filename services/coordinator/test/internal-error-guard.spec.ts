import { NotFoundError } from '@swarm-mesh/contracts';
import { InternalErrorGuard } from '../src/engine/internal-error-guard';

describe('InternalErrorGuard', () => {
  let now = 1_000_000;
  const reports: Array<{ phase: string; message: string }> = [];
  const guard = (): InternalErrorGuard =>
    new InternalErrorGuard(
      30_000,
      (phase, err) => reports.push({ phase, message: (err as Error).message }),
      () => now,
    );

  beforeEach(() => {
    now = 1_000_000;
    reports.length = 0;
  });

  it('swallows and reports whatever a phase throws (a phase has no caller to refuse)', () => {
    const g = guard();
    expect(() =>
      g.run('sweep', () => {
        throw new TypeError('x is undefined');
      }),
    ).not.toThrow();
    expect(() =>
      g.run('dispatch', () => {
        throw new NotFoundError('task', 'a');
      }),
    ).not.toThrow();
    expect(reports.map((r) => r.phase)).toEqual(['sweep', 'dispatch']);
    expect(reports[0]!.message).toBe('x is undefined');
  });

  it('tells bugs from refusals for requests', () => {
    expect(InternalErrorGuard.isInternal(new RangeError('r'))).toBe(true);
    expect(InternalErrorGuard.isInternal(new NotFoundError('task', 'a'))).toBe(false);
  });

  it('asks for a rebuild after an internal error, then at most once per interval', () => {
    const g = guard();
    expect(g.takeReload()).toBe(false); // nothing happened
    g.fault('op:submit', new TypeError('boom'));
    expect(g.takeReload()).toBe(true);
    expect(g.takeReload()).toBe(false); // done
    now += 1_000;
    g.fault('dispatch', new TypeError('boom again'));
    expect(g.takeReload()).toBe(false); // too soon after the last rebuild: later
    now += 29_000;
    expect(g.takeReload()).toBe(true); // the pending rebuild, once the interval has passed
    expect(g.takeReload()).toBe(false);
  });

  it('a rebuild for another reason (failed commit) clears what was suspect', () => {
    const g = guard();
    g.fault('sweep', new TypeError('boom'));
    g.reloaded();
    now += 60_000;
    expect(g.takeReload()).toBe(false);
  });
});
