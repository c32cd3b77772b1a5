/**
 * CPU profiles of just the measured window. Preloaded into a mesh process by
 * `npm run bench -- --profile` (NODE_OPTIONS=--require …, as Node refuses --cpu-prof in
 * NODE_OPTIONS): the first SIGUSR2 starts the V8 sampling profiler, the next one stops it and
 * writes BENCH_CPU_PROFILE (a .cpuprofile for Chrome DevTools or bench/dist/profile-top.js). A
 * profile still running when the process exits is written then. The bench profiles itself with
 * `createProfiler` directly.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

export interface InProcessProfiler {
  readonly running: boolean;
  start(): void;
  /** Stops and writes the profile; later windows go to `<name>.<n>.cpuprofile`. */
  stop(): void;
}

export function createProfiler(file: string, intervalUs = 1000): InProcessProfiler {
  const session = new Session();
  session.connect();
  let running = false;
  let part = 0;

  // in-process inspector sessions answer synchronously, so stop() also works inside 'exit'
  const post = (method: string, params?: object): unknown => {
    let result: unknown;
    let error: Error | null = null;
    session.post(method, params ?? {}, (err, res) => {
      error = err;
      result = res;
    });
    if (error) throw error;
    return result;
  };

  return {
    get running() {
      return running;
    },
    start() {
      if (running) return;
      post('Profiler.enable');
      post('Profiler.setSamplingInterval', { interval: intervalUs });
      post('Profiler.start');
      running = true;
    },
    stop() {
      if (!running) return;
      running = false;
      const res = post('Profiler.stop') as { profile?: unknown } | undefined;
      if (!res?.profile) return;
      const target = part++ === 0 ? file : file.replace(/\.cpuprofile$/, `.${part}.cpuprofile`);
      writeFileSync(target, JSON.stringify(res.profile));
    },
  };
}

const preloadFile = process.env.BENCH_CPU_PROFILE;
if (preloadFile) {
  const profiler = createProfiler(preloadFile, Number(process.env.BENCH_CPU_PROFILE_INTERVAL_US) || 1000);
  process.on('SIGUSR2', () => (profiler.running ? profiler.stop() : profiler.start()));
  process.on('exit', () => profiler.stop());
}
