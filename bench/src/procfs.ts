/**
 * CPU and memory figures from Linux /proc: machine-wide busy time (/proc/stat), per-process
 * utime+stime (/proc/<pid>/stat) and peak/current RSS (/proc/<pid>/status VmHWM/VmRSS).
 * Everything returns undefined where /proc is missing (macOS) or the process is gone.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** USER_HZ (CLK_TCK), the unit of /proc CPU times; 100 almost everywhere. */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const v = Number(r.stdout?.trim());
    ticksPerSecond = Number.isInteger(v) && v > 0 ? v : 100;
  }
  return ticksPerSecond;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export const procAvailable = (): boolean => read('/proc/stat') !== undefined;

/** Machine-wide CPU seconds: busy = user+nice+system+irq+softirq+steal, over all CPUs. */
export interface MachineCpu {
  busyS: number;
  totalS: number;
}

export function machineCpu(): MachineCpu | undefined {
  const line = read('/proc/stat')?.split('\n', 1)[0];
  if (!line?.startsWith('cpu ')) return undefined;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const hz = clockTicks();
  const busy = user + nice + system + irq + softirq + steal;
  return { busyS: busy / hz, totalS: (busy + idle + iowait) / hz };
}

interface StatFields {
  comm: string;
  ppid: number;
  cpuS: number;
}

function procStat(pid: number): StatFields | undefined {
  const s = read(`/proc/${pid}/stat`);
  if (!s) return undefined;
  const open = s.indexOf('(');
  const close = s.lastIndexOf(')');
  if (open < 0 || close < 0) return undefined;
  // fields after the command: state(3) ppid(4) … utime(14) stime(15)
  const rest = s
    .slice(close + 2)
    .trim()
    .split(' ');
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return { comm: s.slice(open + 1, close), ppid, cpuS: (utime + stime) / clockTicks() };
}

/** utime+stime of a process, in seconds (children not included). */
export function processCpuS(pid: number): number | undefined {
  return procStat(pid)?.cpuS;
}

/** Peak (VmHWM) and current (VmRSS) resident set of a process, in MiB. */
export function processMemory(pid: number): { peakMb: number; rssMb: number } | undefined {
  const s = read(`/proc/${pid}/status`);
  if (!s) return undefined;
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
  return { peakMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
}

function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}

/** Every process with its parent and command name. */
export function processTable(): Array<{ pid: number; ppid: number; comm: string }> {
  const out: Array<{ pid: number; ppid: number; comm: string }> = [];
  for (const pid of allPids()) {
    const st = procStat(pid);
    if (st) out.push({ pid, ppid: st.ppid, comm: st.comm });
  }
  return out;
}

/** A process and all its descendants. */
export function withDescendants(root: number, table = processTable()): number[] {
  const kids = new Map<number, number[]>();
  for (const p of table) kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), p.pid]);
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(kids.get(pid) ?? []));
  }
  return out;
}

/** The pid listening on a local TCP port (via /proc/net/tcp{,6} socket inodes), if visible. */
export function listenerPid(port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (read(file) ?? '').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ip:port, st 0A = LISTEN, inode is field 9
      if (f.length > 9 && f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of allPids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return pid;
      } catch {
        /* gone */
      }
    }
  }
  return undefined;
}

/** A named set of processes whose CPU is accounted together. */
export interface ProcessGroup {
  name: string;
  /** Evaluated at the start and at the end of a window; the union is accounted. */
  pids(): number[] | Promise<number[]>;
  /** Peak RSS is reported for the group's processes (false for shared servers' many backends). */
  memory?: boolean;
  /** Part of another group's processes (shown indented, not added to the sum). */
  subset?: boolean;
}

export interface GroupCpu {
  name: string;
  cpuS: number;
  processes: number;
  subset?: boolean;
}

/** CPU seconds of groups of processes over a window: `start()`, then `stop()`. */
export class CpuWindow {
  private readonly startCpu = new Map<number, number>();
  private readonly startPids = new Map<string, number[]>();
  private machineStart: MachineCpu | undefined;
  private wallStart = 0;

  constructor(private readonly groups: readonly ProcessGroup[]) {}

  async start(): Promise<void> {
    for (const g of this.groups) {
      const pids = await g.pids();
      this.startPids.set(g.name, pids);
      for (const pid of pids) {
        const cpu = processCpuS(pid);
        if (cpu !== undefined) this.startCpu.set(pid, cpu);
      }
    }
    this.machineStart = machineCpu();
    this.wallStart = performance.now();
  }

  async stop(): Promise<{ wallS: number; machineBusyS: number | undefined; machineCapacityS: number | undefined; groups: GroupCpu[] }> {
    const machineEnd = machineCpu();
    const wallS = (performance.now() - this.wallStart) / 1000;
    const groups: GroupCpu[] = [];
    for (const g of this.groups) {
      const pids = new Set([...(this.startPids.get(g.name) ?? []), ...(await g.pids())]);
      let cpuS = 0;
      let processes = 0;
      for (const pid of pids) {
        const end = processCpuS(pid);
        if (end === undefined) continue;
        processes++;
        // a process born inside the window counts from zero
        cpuS += end - (this.startCpu.get(pid) ?? 0);
      }
      groups.push({ name: g.name, cpuS, processes, ...(g.subset ? { subset: true } : {}) });
    }
    return {
      wallS,
      machineBusyS: machineEnd && this.machineStart ? machineEnd.busyS - this.machineStart.busyS : undefined,
      machineCapacityS: machineEnd && this.machineStart ? machineEnd.totalS - this.machineStart.totalS : undefined,
      groups,
    };
  }
}
