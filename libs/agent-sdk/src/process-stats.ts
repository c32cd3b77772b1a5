import { CpuMeter } from './batcher';

/** What a heartbeat says of the agent's process. */
export interface ProcessFigures {
  cpuPercent: number;
  memoryRssBytes: number;
}

/**
 * CPU and memory of this process for heartbeats, shared by every agent in it. The figures are
 * process-wide anyway; reading them once per agent and heartbeat cost a `getrusage` and a
 * `/proc/self/stat` read each — with 1,000 agents in a process, 12 % of its CPU. Refreshed at
 * most every `minIntervalMs`; CPU % is measured over the time since the previous refresh.
 */
export class ProcessStats {
  private readonly cpu = new CpuMeter();
  private refreshedAt = Number.NEGATIVE_INFINITY;
  private figures: ProcessFigures = { cpuPercent: 0, memoryRssBytes: 0 };

  /** @param minIntervalMs shortest time between two refreshes. Default 250 ms. */
  constructor(private readonly minIntervalMs = 250) {}

  read(): ProcessFigures {
    const now = performance.now();
    if (now - this.refreshedAt >= this.minIntervalMs) {
      this.refreshedAt = now;
      this.figures = { cpuPercent: this.cpu.sample(), memoryRssBytes: process.memoryUsage.rss() };
    }
    return this.figures;
  }
}

/** The process's shared instance. */
export const processStats = new ProcessStats();
