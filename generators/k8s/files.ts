import type { FileSection } from '../../lib/files.js';

/** Kubernetes' documentation; the manifests are merged per workload (see index.ts). */
export const files: readonly FileSection[] = [{ families: ['k8s/docs'] }];
