import type { FileSection } from '../../lib/files.js';

/** The Lambda handler, its test and the Makefile that builds the package; the SAM template is merged. */
export const files: readonly FileSection[] = [
  { families: ['serverless/files'], manifest: 'serverless (AWS Lambda)' },
];
