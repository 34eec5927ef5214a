import type { FileSection } from '../../lib/files.js';

/** Cloud Run's documentation; its service.yaml is merged (cloudrun/manifests). */
export const files: readonly FileSection[] = [{ families: ['cloudrun/docs'] }];
