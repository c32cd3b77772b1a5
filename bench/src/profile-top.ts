/**
 * Summarizes V8 .cpuprofile files (node --cpu-prof): the top functions by self time and the
 * self time per package/module.
 *
 *   node bench/dist/profile-top.js [--top 25] [--inclusive fnA,fnB] [--callers fn] file.cpuprofile …
 *
 * --inclusive: total time spent inside each named function (callees included, recursion counted
 * once); --callers: the heaviest call stacks (5 frames) leading to a function's self time.
 */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { table } from './stats';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const REPO_ROOT = resolve(__dirname, '..', '..');
const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function shortUrl(url: string): string {
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(REPO_ROOT)) u = u.slice(REPO_ROOT.length + 1);
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) u = u.slice(nm);
  return u;
}

/** The package or area a frame belongs to: `node_modules/pg`, `libs/messaging`, `node:internal`, `(v8)`. */
function moduleOf(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  const u = shortUrl(frame.url);
  if (!u) return '(v8/native)';
  if (u.startsWith('node:')) return u.startsWith('node:internal') ? 'node:internal' : u.split('/')[0]!;
  const nm = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (nm) return `node_modules/${nm[1]}`;
  const own = /^(libs|services|agents|cli|bench)\/([^/]+)/.exec(u);
  if (own) return `${own[1]}/${own[2]}`;
  return u;
}

export interface ProfileSummary {
  name: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  functions: Array<{ selfMs: number; name: string; location: string }>;
  modules: Array<{ selfMs: number; module: string }>;
}

/** Self time per function and per module (idle excluded from the busy total). */
export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = prof.samples ?? [];
  const deltas = prof.timeDeltas ?? [];
  if (samples.length > 0) {
    // a sample's time is the interval until the next sample (the convention of Chrome DevTools)
    for (let i = 0; i < samples.length; i++) {
      const dt = deltas[i + 1] ?? 0;
      selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
    }
  } else {
    const interval =
      (prof.endTime - prof.startTime) /
      Math.max(
        1,
        prof.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0),
      );
    for (const n of prof.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * interval);
  }
  const fn = new Map<string, { selfUs: number; name: string; location: string }>();
  const mod = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = cf.functionName || '(anonymous)';
    const location = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${name}|${location}`;
    const e = fn.get(key) ?? { selfUs: 0, name, location };
    e.selfUs += us;
    fn.set(key, e);
    const m = moduleOf(cf);
    mod.set(m, (mod.get(m) ?? 0) + us);
  }
  return {
    name: basename(file).replace(/\.cpuprofile$/, ''),
    wallMs: (prof.endTime - prof.startTime) / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    idleMs: idleUs / 1000,
    functions: [...fn.values()]
      .sort((a, b) => b.selfUs - a.selfUs)
      .slice(0, top)
      .map((f) => ({ selfMs: f.selfUs / 1000, name: f.name, location: f.location })),
    modules: [...mod.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([module, us]) => ({ selfMs: us / 1000, module })),
  };
}

/** The summary as text: header line, top functions, top modules. */
export function formatProfileSummary(s: ProfileSummary): string {
  const pct = (ms: number): string => (s.busyMs > 0 ? `${((100 * ms) / s.busyMs).toFixed(1)}%` : '—');
  return [
    `${s.name}: ${(s.busyMs / 1000).toFixed(2)} s busy (non-idle samples) over ${(s.wallMs / 1000).toFixed(1)} s profiled`,
    table([['self ms', '% busy', 'function', 'location'], ...s.functions.map((f) => [f.selfMs, pct(f.selfMs), f.name, f.location])]),
    '',
    table([['self ms', '% busy', 'module'], ...s.modules.map((m) => [m.selfMs, pct(m.selfMs), m.module])]),
  ].join('\n');
}

/** Self time per node id (µs) and the busy total (idle excluded). */
function selfTimes(prof: CpuProfile): { self: Map<number, number>; busyUs: number } {
  const self = new Map<number, number>();
  const samples = prof.samples ?? [];
  const deltas = prof.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + Math.max(0, deltas[i + 1] ?? 0));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  let busyUs = 0;
  for (const [id, us] of self) if (byId.get(id)?.callFrame.functionName !== '(idle)') busyUs += us;
  return { self, busyUs };
}

/** Inclusive time of each named function (outermost activation only), in ms, with % of busy. */
export function inclusiveTimes(file: string, names: readonly string[]): Array<{ name: string; ms: number; pct: number }> {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const { self, busyUs } = selfTimes(prof);
  const incl = new Map<number, number>();
  // nodes are listed parents first; walk backwards to sum children into parents
  for (let i = prof.nodes.length - 1; i >= 0; i--) {
    const n = prof.nodes[i]!;
    let t = self.get(n.id) ?? 0;
    for (const c of n.children ?? []) t += incl.get(c) ?? 0;
    incl.set(n.id, t);
  }
  const root = prof.nodes[0];
  return names.map((name) => {
    let total = 0;
    const stack: Array<[number, boolean]> = root ? [[root.id, false]] : [];
    while (stack.length > 0) {
      const [id, inside] = stack.pop()!;
      const n = byId.get(id);
      if (!n) continue;
      const hit = n.callFrame.functionName === name;
      if (hit && !inside) total += incl.get(id) ?? 0;
      for (const c of n.children ?? []) stack.push([c, inside || hit]);
    }
    return { name, ms: total / 1000, pct: busyUs > 0 ? (100 * total) / busyUs : 0 };
  });
}

/** The heaviest call stacks (up to `depth` frames) under a function's self time. */
export function callers(file: string, name: string, depth = 5, top = 5): Array<{ ms: number; stack: string }> {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const { self } = selfTimes(prof);
  const stacks = new Map<string, number>();
  for (const n of prof.nodes) {
    if (n.callFrame.functionName !== name) continue;
    const us = self.get(n.id) ?? 0;
    if (us === 0) continue;
    const frames: string[] = [];
    for (let cur = parent.get(n.id); cur !== undefined && frames.length < depth; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      frames.push(`${cf.functionName || '(anonymous)'} ${cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim());
    }
    const key = frames.join(' < ');
    stacks.set(key, (stacks.get(key) ?? 0) + us);
  }
  return [...stacks.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([stack, us]) => ({ ms: us / 1000, stack }));
}

function main(argv: string[]): void {
  let top = 25;
  let inclusive: string[] = [];
  let callersOf: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') top = Number(argv[++i]) || 25;
    else if (argv[i] === '--inclusive') inclusive = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (argv[i] === '--callers') callersOf = argv[++i];
    else files.push(argv[i]!);
  }
  if (files.length === 0) {
    process.stderr.write('usage: node bench/dist/profile-top.js [--top 25] [--inclusive fnA,fnB] [--callers fn] file.cpuprofile …\n');
    process.exitCode = 2;
    return;
  }
  for (const f of files) {
    if (inclusive.length > 0 || callersOf) {
      process.stdout.write(`${basename(f)}\n`);
      if (inclusive.length > 0) {
        process.stdout.write(
          `${table([['function', 'inclusive ms', '% busy'], ...inclusiveTimes(f, inclusive).map((r) => [r.name, r.ms, `${r.pct.toFixed(1)}%`])])}\n`,
        );
      }
      if (callersOf) {
        for (const c of callers(f, callersOf)) process.stdout.write(`  ${c.ms.toFixed(0).padStart(6)} ms  ${callersOf} < ${c.stack}\n`);
      }
      process.stdout.write('\n');
    } else {
      process.stdout.write(`${formatProfileSummary(summarizeProfile(f, top))}\n\n`);
    }
  }
}

if (require.main === module) main(process.argv.slice(2));
