#!/usr/bin/env node
// Entry point: TypeScript (the package's source and users' sweep.ts files) loads through tsx, and
// `import ... from 'remote-experiments'` in a sweep file resolves to this very package wherever
// the sweep file lives.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register(new URL('../src/self-resolve.mjs', import.meta.url), { data: { target: new URL('../src/index.ts', import.meta.url).href } });
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv);
