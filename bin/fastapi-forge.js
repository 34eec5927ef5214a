#!/usr/bin/env node
import { main } from '../dist/cli.js';

main(process.argv).then(
  (status) => {
    process.exitCode = status;
  },
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
