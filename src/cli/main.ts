#!/usr/bin/env -S node --no-memory-reducer
/**
 * The `relevo` executable. Everything it does is in run.ts, which tests drive in-process; this
 * file only binds it to the real process and is the one place that ends it.
 *
 * `--no-memory-reducer` (also in `npm start`, `npm run dev` and the run lines of
 * docs/operations.md): V8 reads it only at start-up. During a pause in traffic, V8's memory
 * reducer shrinks the heap. In the first 1–1.5 s of traffic after it, V8's helper threads
 * (collector, compiler) took half a core, against a tenth later, and on PostgreSQL the p99 of
 * benchmark (c) after a pause was 45–74 ms with the reducer and 17–28 ms without it
 * (docs/decisions.md).
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
