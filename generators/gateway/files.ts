import type { FileSection } from '../../lib/files.js';
import { memberFiles } from '../../lib/workspace-generator.js';

/** The gateway's files, in its member context (its route table in `routes`). */
export const files: readonly FileSection[] = memberFiles('gateway');
