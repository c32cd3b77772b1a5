// NATS for the local runner: reuse the one at NATS_URL, or start a private nats-server with JetStream.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError, findOnPath, isExecutable, isLocalHost, natsEndpoints, run, say, tcpAnswers, waitFor } from './common.mjs';
import { Child } from './supervisor.mjs';

export const NATS_SERVER_MODULE = 'github.com/nats-io/nats-server/v2@v2.10.22';

/** nats-server on PATH, in /usr/sbin or in $HOME/go/bin; otherwise `go install` it into $HOME/go/bin. */
export async function findNatsServer() {
  const goBin = path.join(os.homedir(), 'go', 'bin');
  const found = findOnPath('nats-server') ?? ['/usr/sbin/nats-server', path.join(goBin, 'nats-server')].find(isExecutable);
  if (found) return found;
  const go = findOnPath('go') ?? ['/usr/local/go/bin/go', '/usr/lib/go/bin/go'].find(isExecutable);
  if (go) {
    say(`nats-server not found: installing it with "go install ${NATS_SERVER_MODULE}" into ${goBin} (one time, a minute or two)…`);
    const code = await run(go, ['install', NATS_SERVER_MODULE], { env: { ...process.env, GOBIN: goBin } });
    const installed = path.join(goBin, 'nats-server');
    if (code === 0 && isExecutable(installed)) return installed;
  }
  throw new UserError(
    [
      'no NATS server answers at NATS_URL and no nats-server binary was found (PATH, /usr/sbin, ~/go/bin).',
      'Install one of:',
      '  - Debian/Ubuntu: sudo apt-get install nats-server',
      `  - with Go:       go install ${NATS_SERVER_MODULE}`,
      '  - or run NATS with JetStream yourself and set NATS_URL (e.g. in .env).',
    ].join('\n'),
  );
}

/**
 * Returns { url, child } where child is the nats-server we started (null when an existing server
 * answered). The private server keeps its JetStream store in `storeDir`.
 */
export async function ensureNats({ natsUrl, storeDir, quiet }) {
  const endpoints = natsEndpoints(natsUrl);
  if (endpoints.length === 0) throw new UserError('NATS_URL names no server');
  for (const e of endpoints) {
    if (await tcpAnswers(e.host, e.port)) {
      say(`NATS: using the server at ${e.host}:${e.port}`);
      return { url: natsUrl, child: null };
    }
  }
  const first = endpoints[0];
  if (!isLocalHost(first.host)) {
    throw new UserError(
      `NATS at ${first.host}:${first.port} (NATS_URL) does not answer, and it is not on this machine, so it cannot be started here.`,
    );
  }
  const bin = await findNatsServer();
  mkdirSync(storeDir, { recursive: true });
  const bind = first.host === 'localhost' ? '127.0.0.1' : first.host;
  say(
    `NATS: nothing answers at ${first.host}:${first.port}; starting ${bin} with JetStream (store ${path.relative(process.cwd(), storeDir)})`,
  );
  const child = new Child({
    name: 'nats',
    command: bin,
    args: ['-a', bind, '-p', String(first.port), '-js', '-sd', storeDir],
    env: process.env,
    quiet,
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 10_000,
  });
  child.start();
  const up = await waitFor(async () => !child.gaveUp && (await tcpAnswers(first.host, first.port, 500)), 20_000);
  if (!up) {
    await child.stop();
    throw new UserError(`nats-server did not start listening on ${first.host}:${first.port} within 20 s (see [nats] lines above)`);
  }
  say(`NATS: started on nats://${first.host}:${first.port}`);
  return { url: natsUrl, child };
}
