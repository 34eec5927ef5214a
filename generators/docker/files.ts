import type { FileSection } from '../../lib/files.js';

/** The Dockerfile, .dockerignore and deploy/README.md; docker-compose.yml is merged (docker/compose). */
export const files: readonly FileSection[] = [{ families: ['docker/files'] }];
