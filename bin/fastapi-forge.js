#!/usr/bin/env node
// Modules of the CLI read the working directory as they load (uv_cwd fails with ENOENT once it is deleted),
// so a deleted one is reported before they are imported.
try {
  process.cwd();
} catch {
  process.stderr.write(
    'fastapi-forge: the current directory no longer exists; change to an existing one and run again\n',
  );
  process.exit(2);
}
const { main } = await import('../dist/cli.js');

main(process.argv).then(
  (status) => {
    process.exitCode = status;
  },
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
