import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@swarm-mesh/testing';

/** Tools that `scripts/tools.sh` installs from the Go module proxy into `~/.cache/swarm-mesh-tools`. */
export type Tool = 'helm' | 'jaeger';

const ENV_OVERRIDE: Record<Tool, string> = { helm: 'HELM_BIN', jaeger: 'JAEGER_BIN' };
const resolved = new Map<Tool, string>();

/**
 * Path of a pinned tool: `$HELM_BIN` / `$JAEGER_BIN` when set, else `bash scripts/tools.sh <tool>`,
 * which returns the cached binary at once or installs it first (helm ≈ 1–2 min, jaeger ≈ 5–10 min on
 * two cores, once per machine). Throws with the installer's own explanation when that fails.
 */
export function toolPath(tool: Tool): string {
  const cached = resolved.get(tool);
  if (cached) return cached;
  const override = process.env[ENV_OVERRIDE[tool]];
  if (override) {
    if (!existsSync(override)) throw new Error(`${ENV_OVERRIDE[tool]}=${override} does not exist`);
    resolved.set(tool, override);
    return override;
  }
  let out: string;
  try {
    out = execFileSync('bash', [join(REPO_ROOT, 'scripts', 'tools.sh'), tool], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { status?: number; stderr?: string; message: string };
    const tail = (e.stderr ?? '').split('\n').slice(-40).join('\n');
    throw new Error(
      `could not install ${tool} with scripts/tools.sh (exit ${e.status ?? '?'}): ${e.message}\n${tail}\n` +
        `Install it by hand (bash scripts/tools.sh ${tool}) or point ${ENV_OVERRIDE[tool]} at a ${tool} binary.`,
    );
  }
  const path = out.trim().split('\n').pop() ?? '';
  if (!path || !existsSync(path)) throw new Error(`scripts/tools.sh ${tool} printed no usable path (got "${out.trim()}")`);
  resolved.set(tool, path);
  return path;
}
