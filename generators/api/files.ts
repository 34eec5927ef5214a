import type { FileSection } from '../../lib/files.js';

/** The core's files: the user's own (written once) are the README, pyproject.toml, .env.example, main and config. */
export const files: readonly FileSection[] = [
  {
    families: ['api'],
    once: ['README.md', 'pyproject.toml', '.env.example', 'src/<package>/main.py', 'src/<package>/config.py'],
  },
  // The demo-only example route, POST /echo (`new --examples`).
  { families: ['examples'], when: (context) => context.examples === true },
];

/** The CI workflow, pre-commit hooks, Makefile, .python-version and .editorconfig, rendered in postWriting. */
export const toolingFiles: readonly FileSection[] = [{ families: ['tooling'] }];
