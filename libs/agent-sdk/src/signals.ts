/** Anything that can be stopped gracefully (an Agent). */
export interface Stoppable {
  stop(): Promise<void>;
}

const registered = new Set<Stoppable>();
let installed = false;
let shuttingDown = false;

function onSignal(signal: NodeJS.Signals): void {
  if (shuttingDown) {
    // a second signal while draining: give up waiting
    process.exit(1);
  }
  shuttingDown = true;
  const all = [...registered];
  void Promise.allSettled(all.map((a) => a.stop())).then((outcomes) => {
    const failed = outcomes.filter((o) => o.status === 'rejected').length;
    process.exitCode = failed > 0 ? 1 : 0;
    process.stderr.write(`${JSON.stringify({ msg: 'agents stopped after signal', signal, agents: all.length, failed })}\n`);
    process.exit();
  });
}

/**
 * Registers an agent for SIGTERM/SIGINT handling: on the first signal every registered agent
 * is stopped gracefully (in parallel), then the process exits (0, or 1 when a stop failed).
 * A second signal exits at once with 1.
 */
export function registerForSignals(agent: Stoppable): void {
  registered.add(agent);
  if (installed) return;
  installed = true;
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Removes an agent from signal handling (after it stopped on its own). */
export function unregisterForSignals(agent: Stoppable): void {
  registered.delete(agent);
  if (registered.size === 0 && installed && !shuttingDown) {
    installed = false;
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
