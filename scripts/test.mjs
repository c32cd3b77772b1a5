#!/usr/bin/env node
// `npm test`: checks that NATS and Postgres answer, builds (tests that spawn services use dist/),
// runs every Jest project (unit + integration) in band, then prints seconds per suite, slowest
// first, and a closing `tests: N passed, N failed` line. Extra arguments go to Jest:
//   npm test -- libs/messaging            npm test -- --selectProjects unit
// Options of its own: --no-build (skip `npm run build`).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_DATABASE_URL,
  DEFAULT_NATS_URL,
  ROOT,
  UserError,
  build,
  c,
  ensureDependencies,
  fail,
  natsEndpoints,
  postgresEndpoint,
  run,
  say,
  tcpAnswers,
  warn,
} from './lib/common.mjs';

const RESULTS_FILE = path.join(ROOT, 'test-artifacts', 'jest-results.json');
/** How long jest may take to exit once it has written its results. */
const EXIT_GRACE_MS = 30_000;

async function checkServers() {
  const natsUrl = process.env.NATS_URL || DEFAULT_NATS_URL;
  const dbVar = process.env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL' : process.env.DATABASE_URL ? 'DATABASE_URL' : null;
  const databaseUrl = (dbVar && process.env[dbVar]) || DEFAULT_DATABASE_URL;
  const problems = [];
  const nats = natsEndpoints(natsUrl);
  const natsOk = (await Promise.all(nats.map((e) => tcpAnswers(e.host, e.port, 2_000)))).some(Boolean);
  if (!natsOk) {
    problems.push(
      `NATS does not answer at ${nats.map((e) => `${e.host}:${e.port}`).join(', ')} (NATS_URL=${natsUrl}${process.env.NATS_URL ? '' : ', the default'}).\n` +
        '    Start one with JetStream, e.g.  nats-server -js -sd /tmp/nats   (apt-get install nats-server), or set NATS_URL.',
    );
  }
  const pg = postgresEndpoint(databaseUrl);
  if (!(await tcpAnswers(pg.host, pg.port, 2_000))) {
    problems.push(
      `Postgres does not answer at ${pg.host}:${pg.port} (${dbVar ?? 'default'} ${databaseUrl}).\n` +
        '    Start one (apt-get install postgresql; tests connect as the URL\'s user, e.g. trust auth for "postgres"),\n' +
        '    or set TEST_DATABASE_URL (or DATABASE_URL) to a server where that user may create databases.',
    );
  }
  if (problems.length > 0) {
    throw new UserError(
      `the tests need NATS and Postgres:\n  - ${problems.join('\n  - ')}\n(a running "npm start" also serves: it starts both in .data/ at NATS_URL / DATABASE_URL when nothing answers there)`,
    );
  }
  say(`NATS ${natsUrl} and Postgres ${pg.host}:${pg.port} answer`);
}

function printSummary(results, root) {
  const suites = (results.testResults ?? [])
    .map((r) => ({
      file: path.relative(root, r.name ?? r.testFilePath ?? '?'),
      seconds: Math.max(0, ((r.endTime ?? 0) - (r.startTime ?? 0)) / 1000),
      status: r.status,
      tests: (r.assertionResults ?? []).length,
    }))
    .sort((a, b) => b.seconds - a.seconds);
  if (suites.length > 0) {
    process.stdout.write(`\n${c.bold('Seconds per test file, slowest first:')}\n`);
    for (const s of suites) {
      const mark = s.status === 'failed' ? c.red('FAIL') : c.green('PASS');
      process.stdout.write(`  ${s.seconds.toFixed(1).padStart(7)} s  ${mark}  ${s.file}  ${c.dim(`(${s.tests} tests)`)}\n`);
    }
  }
  const passed = results.numPassedTests ?? 0;
  const failed = results.numFailedTests ?? 0;
  const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
  const brokenSuites = results.numRuntimeErrorTestSuites ?? 0;
  const wall = results.startTime ? ((Date.now() - results.startTime) / 1000).toFixed(1) : '?';
  const files = results.numTotalTestSuites ?? suites.length;
  const broken = brokenSuites ? `, ${brokenSuites} could not run` : '';
  process.stdout.write(
    `\n${files} test file${files === 1 ? '' : 's'} (${results.numFailedTestSuites ?? 0} failed${broken}) in ${wall} s\n`,
  );
  return {
    failed: failed > 0 || (results.numFailedTestSuites ?? 0) > 0 || brokenSuites > 0 || results.success === false,
    // the closing line CI reads: printed last
    closing: `tests: ${passed} passed, ${failed} failed, ${skipped} skipped`,
  };
}

async function main() {
  process.chdir(ROOT);
  const args = process.argv.slice(2);
  let doBuild = true;
  const jestArgs = [];
  for (const a of args) {
    if (a === '--no-build') doBuild = false;
    else jestArgs.push(a);
  }
  const wantsHelp = jestArgs.includes('--help') || jestArgs.includes('-h');
  await ensureDependencies();
  if (!wantsHelp) {
    await checkServers();
    if (doBuild) await build();
  }

  const ownWorkers = jestArgs.some((a) => a === '-i' || a === '--runInBand' || /^(-w|--maxWorkers)(=|$)/.test(a));
  const ownOutput = jestArgs.some((a) => /^--(json|outputFile|watch|watchAll|listTests|showConfig)(=|$)/.test(a));
  const finalArgs = [...(ownWorkers ? [] : ['--runInBand']), ...(ownOutput ? [] : ['--json', `--outputFile=${RESULTS_FILE}`]), ...jestArgs];
  if (!ownOutput) {
    mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
    rmSync(RESULTS_FILE, { force: true });
  }
  const jest = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
  say(`jest ${finalArgs.join(' ')}`);
  if (ownOutput || wantsHelp) process.exit(await run(process.execPath, [jest, ...finalArgs]));

  const { code, hung } = await runJest(jest, finalArgs);
  let failed = code !== 0 && !hung;
  let closing = null;
  if (existsSync(RESULTS_FILE)) {
    const summary = printSummary(JSON.parse(readFileSync(RESULTS_FILE, 'utf8')), ROOT);
    failed = summary.failed || failed;
    closing = summary.closing;
  } else {
    failed = true;
    process.stdout.write('\n(jest wrote no results: see its output above)\n');
  }
  if (hung) {
    warn(
      `jest did not exit ${EXIT_GRACE_MS / 1000} s after the run had finished, so it was stopped: some test leaves ` +
        'a connection, timer or process open (see "Jest did not exit" above; `npm test -- --detectOpenHandles <file>` finds it)',
    );
  }
  if (failed) fail(`tests failed (jest exit ${code})`);
  if (closing) process.stdout.write(`${closing}\n`);
  process.exit(failed ? (hung || !code ? 1 : code) : 0);
}

/**
 * Runs jest; once it has written its results, gives it EXIT_GRACE_MS to exit. A test that leaves a
 * handle open would otherwise keep `--runInBand` jest (and CI) waiting until the outer timeout.
 */
function runJest(jest, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [jest, ...args], { stdio: 'inherit', cwd: ROOT });
    let hung = false;
    let grace = null;
    const forward = (sig) => child.kill(sig);
    for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, forward);
    const poll = setInterval(() => {
      if (grace || !existsSync(RESULTS_FILE)) return;
      try {
        JSON.parse(readFileSync(RESULTS_FILE, 'utf8'));
      } catch {
        return; // still being written
      }
      grace = setTimeout(() => {
        hung = true;
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }, EXIT_GRACE_MS);
    }, 1_000);
    child.once('error', (err) => {
      fail(`could not run jest: ${err.message}`);
      resolve({ code: 127, hung: false });
    });
    child.once('exit', (code, signal) => {
      clearInterval(poll);
      if (grace) clearTimeout(grace);
      for (const sig of ['SIGINT', 'SIGTERM']) process.off(sig, forward);
      resolve({ code: code ?? (signal ? 128 : 1), hung });
    });
  });
}

main().catch((err) => {
  fail(err instanceof UserError ? err.message : `npm test failed: ${err?.stack ?? err}`);
  process.exit(1);
});
