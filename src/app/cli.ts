#!/usr/bin/env node
import { runCli } from './cli/program.js';

runCli(process.argv.slice(2), {
  dryRun: false,
  out: process.stdout,
  err: process.stderr,
  stdin: process.stdin,
  env: process.env,
  parsed: [],
  exitCode: 0,
}).then((code) => {
  process.exitCode = code;
});
