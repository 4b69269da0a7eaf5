#!/usr/bin/env node
// The `rx` command: the compiled CLI (dist/, built by `npm run build`, which `prepare` runs on
// install). An install whose scripts were not allowed to run (npm's allow-scripts policy, for a
// git dependency) has the sources but no dist/: rx then runs them through tsx and says how to build.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/cli.js', import.meta.url);
let main;
if (existsSync(compiled)) {
  ({ main } = await import(compiled.href));
} else {
  const sources = new URL('../src/cli.ts', import.meta.url);
  if (!existsSync(sources)) {
    process.stderr.write('rx: this installation has neither dist/ nor src/: reinstall remote-experiments\n');
    process.exit(70);
  }
  process.stderr.write('rx: not built (the install did not run its build step); running from sources. Build once with: npm run build (in ' + new URL('..', import.meta.url).pathname + ')\n');
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(sources.href));
}
process.exitCode = await main(process.argv);
