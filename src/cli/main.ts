#!/usr/bin/env node
/**
 * The `relevo` executable. Everything it does is in run.ts, which tests drive in-process; this
 * file only binds it to the real process and is the one place that ends it.
 */
import { run } from './run.js';

const code = await run(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTty: process.stdout.isTTY === true,
  stderrIsTty: process.stderr.isTTY === true,
}).catch((e: unknown) => {
  process.stderr.write(`relevo: ${e instanceof Error ? e.message : String(e)}\n`);
  return 1;
});

// Exit only once both streams have flushed: a piped stdout may still hold the JSON answer.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
