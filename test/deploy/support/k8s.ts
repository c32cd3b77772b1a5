/**
 * Offline validation of Kubernetes manifests against the API's JSON schemas, with the validators
 * that npm `kubernetes-models` (Kubernetes 1.31 API) and `@kubernetes-models/prometheus-operator`
 * ship. Custom resources without a schema here are listed in SKIPPED_KINDS with the reason.
 */
import * as admissionregistrationV1 from 'kubernetes-models/admissionregistration.k8s.io/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as coreV1 from 'kubernetes-models/v1';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { parseAllDocuments } from 'yaml';

/** One parsed manifest (a Kubernetes object) and where it came from. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface ParsedManifest {
  manifest: Manifest;
  /** `# Source:` file of `helm template` output, or the file name it was read from. */
  source: string;
}

type ModelClass = new (data: object) => { validate(): void };

const MODELS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'autoscaling/v2': autoscalingV2,
  'batch/v1': batchV1,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
  'rbac.authorization.k8s.io/v1': rbacV1,
  'admissionregistration.k8s.io/v1': admissionregistrationV1,
  'monitoring.coreos.com/v1': monitoringV1,
};

/** Kinds validated only as well-formed objects, and why. */
export const SKIPPED_KINDS: Record<string, string> = {
  'postgresql.cnpg.io/v1/Cluster':
    'CloudNativePG CRD: its npm model (@kubernetes-models/cloudnative-pg) needs Node >= 22 and kubernetes-models 5; checked by the operator on apply',
};

/** Splits multi-document YAML (e.g. `helm template` output) into objects; empty documents are dropped. */
export function parseManifests(text: string, defaultSource = 'input'): ParsedManifest[] {
  const out: ParsedManifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${defaultSource}: invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const source = /# Source: (\S+)/.exec(doc.commentBefore ?? '')?.[1] ?? defaultSource;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}: a document is not an object`);
    const m = value as Manifest;
    if (typeof m.apiVersion !== 'string' || typeof m.kind !== 'string' || typeof m.metadata?.name !== 'string') {
      throw new Error(`${source}: a document lacks apiVersion, kind or metadata.name`);
    }
    out.push({ manifest: m, source });
  }
  return out;
}

export type ValidationResult = { status: 'valid' } | { status: 'invalid'; error: string } | { status: 'skipped'; reason: string };

/** Validates one object against its kind's schema. */
export function validateManifest(m: Manifest): ValidationResult {
  const key = `${m.apiVersion}/${m.kind}`;
  const skipped = SKIPPED_KINDS[key];
  if (skipped) return { status: 'skipped', reason: skipped };
  const model = MODELS[m.apiVersion]?.[m.kind] as ModelClass | undefined;
  if (typeof model !== 'function') {
    return { status: 'invalid', error: `no schema for ${key}: add its model to test/deploy/support/k8s.ts or list it in SKIPPED_KINDS` };
  }
  try {
    new model(m).validate();
    return { status: 'valid' };
  } catch (err) {
    return { status: 'invalid', error: (err as Error).message };
  }
}

/** Label of an object in messages: `Deployment/swarm-mesh-gateway (templates/deployment.yaml)`. */
export function labelOf(p: ParsedManifest): string {
  return `${p.manifest.kind}/${p.manifest.metadata.name} (${p.source})`;
}
