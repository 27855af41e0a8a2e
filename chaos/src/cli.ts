#!/usr/bin/env node
import { main } from './command.ts';

// First Ctrl-C: stop the experiment, remove faults, write the report. Second: leave at once.
const controller = new AbortController();
process.on('SIGINT', () => {
  if (controller.signal.aborted) process.exit(130);
  console.error('\ninterrupted: stopping the experiment and writing the report (Ctrl-C again to quit now)');
  controller.abort();
});
process.on('SIGTERM', () => controller.abort());

process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  print: (line) => console.log(line),
  printError: (line) => console.error(line),
  signal: controller.signal,
});
