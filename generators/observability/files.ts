import type { FileSection } from '../../lib/files.js';

/** Metrics and tracing's files; SQL statements become spans once the database's code exists. */
export const files: readonly FileSection[] = [
  { families: ['observability/common'], manifest: 'metrics and tracing' },
  {
    families: ['observability/postgres'],
    when: (context) => context.db === 'postgres',
    manifest: 'metrics and tracing',
    render: false,
  },
];
