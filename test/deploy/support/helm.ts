import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '@swarm-mesh/testing';
import { toolPath } from './tools';

export const CHART_DIR = join(REPO_ROOT, 'deploy', 'swarm-mesh');
export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const valuesFile = (env: Environment): string => join(CHART_DIR, `values-${env}.yaml`);

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the pinned helm with a private home (no repositories, plugins or kube context of the user). */
export function helm(args: string[], home: string): Promise<HelmResult> {
  const bin = toolPath('helm');
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      args,
      {
        cwd: REPO_ROOT,
        timeout: 120_000,
        maxBuffer: 64 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: home,
          HELM_CACHE_HOME: join(home, 'cache'),
          HELM_CONFIG_HOME: join(home, 'config'),
          HELM_DATA_HOME: join(home, 'data'),
          KUBECONFIG: join(home, 'no-kubeconfig'),
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        if (err && (err as { killed?: boolean }).killed) reject(new Error(`helm ${args.join(' ')}: timed out`));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}
