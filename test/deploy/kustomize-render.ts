import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers/repo-paths';

/** One Kubernetes object of a rendered overlay. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // The rest of the object is read by path in the tests; its shape is checked by kubernetes-schema.ts.
  [field: string]: unknown;
}

/**
 * Renders a Kustomize directory (relative to the repository root) with `kubectl kustomize`, the
 * Kustomize built into kubectl, and parses the YAML stream it prints.
 */
export function renderKustomization(directory: string): Manifest[] {
  let output: string;
  try {
    output = execFileSync('kubectl', ['kustomize', path.join(REPO_ROOT, directory)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') {
      throw new Error(
        'kubectl is not installed: the Kustomize checks need kubectl >= 1.27 (kustomize v5) on PATH',
      );
    }
    throw new Error(`kubectl kustomize ${directory} failed: ${failure.stderr ?? failure.message}`);
  }
  return parseAllDocuments(output).map((document, index) => {
    if (document.errors.length > 0) {
      throw new Error(
        `${directory}: rendered document ${index} is not valid YAML: ${document.errors[0].message}`,
      );
    }
    const manifest = document.toJS() as Manifest;
    if (!manifest?.apiVersion || !manifest.kind || !manifest.metadata?.name) {
      throw new Error(`${directory}: rendered document ${index} lacks apiVersion, kind or metadata.name`);
    }
    return manifest;
  });
}
