#!/usr/bin/env node
// Promotes the Swarm Mesh image between environments by editing the `image:` block of the Helm
// values files (deploy/swarm-mesh/values-<env>.yaml) — one file, three lines at most, so a promotion
// is one small reviewable change. Order: dev → staging → prod. Only immutable references move: a
// digest, or a tag that is a version or a git sha (never `latest`, `main`, …).
//
//   node scripts/promote.mjs dev <image>        set what dev runs (CI, after it built and pushed <image>)
//   node scripts/promote.mjs staging            staging takes exactly what dev runs
//   node scripts/promote.mjs prod               prod takes exactly what staging runs
//   node scripts/promote.mjs status             what each environment runs
//
// <image> is repository:tag, repository@sha256:…, or repository:tag@sha256:… .
// Options: --image <ref> (staging/prod: what you expect to promote; refused unless the previous
// environment runs exactly that), --from <env> (must be the previous environment: no skipping),
// --dry-run (print, write nothing), --values-dir <dir>, --json.
// Exit codes: 0 promoted (or already there), 1 refused, 2 usage error.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ORDER = ['dev', 'staging', 'prod'];

class Refused extends Error {}
class Usage extends Error {}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const MUTABLE_TAGS = new Set(['latest', 'main', 'master', 'dev', 'develop', 'staging', 'prod', 'production', 'stable', 'edge', 'nightly']);

/** A version (1.4.0, v1.4.0-rc.1+build.7) or something ending in a git sha (sha-1a2b3c4, 1.4.0-1a2b3c4d). */
export function isImmutableTag(tag) {
  if (!tag || MUTABLE_TAGS.has(tag.toLowerCase())) return false;
  if (/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(tag)) return true;
  return /(^|[-_.])(sha-)?[0-9a-f]{7,40}$/.test(tag);
}

/** Parses repository[:tag][@sha256:digest]. */
export function parseImageRef(ref) {
  const m = /^([a-z0-9]+(?:[._/:-][a-z0-9]+)*?)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(ref ?? '');
  if (!m || (!m[2] && !m[3])) {
    throw new Usage(`"${ref}" is not an image reference: use repository:tag, repository@sha256:<64 hex> or repository:tag@sha256:<64 hex>`);
  }
  return { repository: m[1], tag: m[2] ?? '', digest: m[3] ?? '' };
}

export const formatImage = (img) => `${img.repository}${img.tag ? `:${img.tag}` : ''}${img.digest ? `@${img.digest}` : ''}`;
const sameImage = (a, b) => a.repository === b.repository && a.tag === b.tag && a.digest === b.digest;

/** Why an image may not move between environments, or null when it may. */
function mutableReason(img) {
  if (img.digest) return DIGEST.test(img.digest) ? null : `digest "${img.digest}" is not sha256:<64 hex>`;
  if (!img.tag) return 'it has neither a tag nor a digest';
  if (!isImmutableTag(img.tag))
    return `tag "${img.tag}" can be moved to another build (use a digest, a version such as 1.4.0, or a git sha tag)`;
  return null;
}

const unquote = (v) => {
  const s = v.replace(/\s+#.*$/, '').trim();
  if ((s.startsWith("'") && s.endsWith("'")) || (s.startsWith('"') && s.endsWith('"'))) return s.slice(1, -1);
  return s;
};

/**
 * Finds the top-level `image:` block of a values file and the lines of its repository, tag and
 * digest keys. Line-based on purpose: the rest of the file, comments included, stays byte for byte.
 */
function readImageBlock(text, file) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^image:\s*(#.*)?$/.test(l));
  if (start < 0) throw new Refused(`${file}: no top-level "image:" block`);
  const keys = {};
  let indent = null;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*(#.*)?$/.test(line)) continue;
    const m = /^(\s+)([A-Za-z]+):(.*)$/.exec(line);
    if (!m) break;
    if (indent === null) indent = m[1];
    if (m[1] !== indent) continue;
    keys[m[2]] = { line: i, value: unquote(m[3]) };
  }
  for (const k of ['repository', 'tag', 'digest']) {
    if (!keys[k]) throw new Refused(`${file}: the image block has no "${k}:" line (keep repository, tag and digest in every values file)`);
  }
  return { lines, indent, keys, image: { repository: keys.repository.value, tag: keys.tag.value, digest: keys.digest.value } };
}

function valuesPath(dir, env) {
  return path.join(dir, `values-${env}.yaml`);
}

function readEnv(dir, env) {
  const file = valuesPath(dir, env);
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Refused(`cannot read ${file}: ${err.message}`);
  }
  return { file, text, ...readImageBlock(text, path.relative(process.cwd(), file) || file) };
}

function writeImage(envFile, img) {
  const { lines, indent, keys } = envFile;
  const q = (s) => `'${s}'`;
  const set = (k, v) => {
    if (keys[k].value === v) return; // untouched lines stay byte for byte
    const old = lines[keys[k].line];
    const comment = /\s+#.*$/.exec(old.replace(/'[^']*'|"[^"]*"/g, ''))?.[0] ?? '';
    lines[keys[k].line] = `${indent}${k}: ${q(v)}${comment}`;
  };
  set('repository', img.repository);
  set('tag', img.tag);
  set('digest', img.digest);
  const text = lines.join('\n');
  const check = readImageBlock(text, envFile.file).image;
  if (!sameImage(check, img)) throw new Error(`internal error: wrote ${formatImage(check)} instead of ${formatImage(img)}`);
  return text;
}

function parseArgs(argv) {
  const opts = {
    command: null,
    ref: null,
    image: null,
    from: null,
    dryRun: false,
    json: false,
    valuesDir: path.join(ROOT, 'deploy', 'swarm-mesh'),
  };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Usage(`${a} needs a value`);
      return v;
    };
    if (a === '--dry-run') opts.dryRun = true;
    else if (a === '--json') opts.json = true;
    else if (a === '--image') opts.image = value();
    else if (a === '--from') opts.from = value();
    else if (a === '--values-dir') opts.valuesDir = path.resolve(value());
    else if (a === '--help' || a === '-h') opts.command = 'help';
    else if (a.startsWith('--')) throw new Usage(`unknown option ${a}`);
    else rest.push(a);
  }
  if (opts.command !== 'help') {
    opts.command = rest[0] ?? null;
    opts.ref = rest[1] ?? null;
    if (rest.length > 2) throw new Usage(`unexpected arguments: ${rest.slice(2).join(' ')}`);
  }
  return opts;
}

function usage() {
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  return text
    .slice(
      1,
      text.findIndex((l) => l.startsWith('import')),
    )
    .map((l) => l.replace(/^\/\/ ?/, ''))
    .join('\n');
}

/** Runs one command; returns what happened (throws Refused or Usage). */
export function promote(opts) {
  const dir = opts.valuesDir;
  if (opts.command === 'status') {
    const envs = ORDER.map((env) => {
      const e = readEnv(dir, env);
      return { env, image: formatImage(e.image), immutable: mutableReason(e.image) === null };
    });
    return { action: 'status', environments: envs };
  }
  const target = opts.command;
  if (!ORDER.includes(target)) throw new Usage(`unknown environment "${target ?? ''}": use dev, staging, prod or status`);
  const idx = ORDER.indexOf(target);
  const targetEnv = readEnv(dir, target);
  let image;
  let from;
  if (idx === 0) {
    if (opts.from) throw new Usage('dev is the first environment: it takes an image reference, not --from');
    if (!opts.ref && !opts.image)
      throw new Usage('dev needs the image to run: node scripts/promote.mjs dev <repository:tag|repository@sha256:…>');
    image = parseImageRef(opts.ref ?? opts.image);
    from = 'build';
  } else {
    from = ORDER[idx - 1];
    if (opts.from && opts.from !== from) {
      throw new Refused(
        `${target} takes only what ${from} runs: promoting from ${opts.from} would skip ${ORDER.slice(ORDER.indexOf(opts.from) + 1, idx).join(', ') || from}`,
      );
    }
    if (opts.ref) throw new Usage(`${target} takes what ${from} runs; name the expected image with --image, not as an argument`);
    const source = readEnv(dir, from);
    image = source.image;
    if (opts.image) {
      const expected = parseImageRef(opts.image);
      const matches =
        expected.repository === image.repository &&
        (!expected.tag || expected.tag === image.tag) &&
        (!expected.digest || expected.digest === image.digest);
      if (!matches)
        throw new Refused(`${from} does not run ${formatImage(expected)} (it runs ${formatImage(image)}): promote it to ${from} first`);
    }
  }
  const why = mutableReason(image);
  if (why) throw new Refused(`refusing to promote ${formatImage(image)} to ${target}: ${why}`);
  const before = targetEnv.image;
  if (sameImage(before, image)) {
    return { action: 'unchanged', target, from, image: formatImage(image), file: targetEnv.file };
  }
  const text = writeImage(targetEnv, image);
  if (!opts.dryRun) writeFileSync(targetEnv.file, text);
  return {
    action: opts.dryRun ? 'would-promote' : 'promoted',
    target,
    from,
    before: formatImage(before),
    image: formatImage(image),
    file: targetEnv.file,
  };
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
    if (opts.command === 'help' || opts.command === null) {
      process.stdout.write(`${usage()}\n`);
      return opts.command === 'help' ? 0 : 2;
    }
    const r = promote(opts);
    if (opts.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else if (r.action === 'status')
      for (const e of r.environments)
        process.stdout.write(`${e.env.padEnd(8)} ${e.image}${e.immutable ? '' : '  (mutable: cannot be promoted)'}\n`);
    else if (r.action === 'unchanged') process.stdout.write(`${r.target} already runs ${r.image}; nothing to change\n`);
    else {
      const rel = path.relative(ROOT, r.file);
      process.stdout.write(
        `${r.action === 'promoted' ? 'promoted' : 'would promote'} ${r.image} from ${r.from} to ${r.target}\n  ${rel}: ${r.before} -> ${r.image}\n`,
      );
      if (r.action === 'promoted') {
        process.stdout.write(
          `Review and commit this one change, e.g.\n  git switch -c promote/${r.target}-${(r.image.split(/[:@]/).pop() ?? '').slice(0, 19)}\n  git commit -m "Promote ${r.image} to ${r.target}" -- ${rel}\n`,
        );
      }
    }
    return 0;
  } catch (err) {
    const json = opts?.json;
    if (err instanceof Refused || err instanceof Usage) {
      const code = err instanceof Refused ? 1 : 2;
      if (json) process.stdout.write(`${JSON.stringify({ action: 'refused', error: err.message, usage: err instanceof Usage })}\n`);
      process.stderr.write(`promote: ${err instanceof Refused ? 'REFUSED: ' : ''}${err.message}\n`);
      return code;
    }
    throw err;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main();
