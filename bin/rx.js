#!/usr/bin/env node
// Entry point: TypeScript (the package's source and users' sweep.ts files) loads through tsx, and
// `import ... from 'remote-experiments'` in a sweep file resolves to this very package wherever
// the sweep file lives (ESM through a resolve hook; CommonJS, which is what tsx makes of a sweep.ts
// outside any "type": "module" package, through the CommonJS resolver).
import Module, { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { register as registerTsx } from 'tsx/esm/api';
import { register as registerTsxCjs } from 'tsx/cjs/api';

const self = new URL('../src/index.ts', import.meta.url);
registerTsx();
registerTsxCjs();
register(new URL('../src/self-resolve.mjs', import.meta.url), { data: { target: self.href } });
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'remote-experiments' ? fileURLToPath(self) : resolveFilename.call(this, request, ...rest);
};
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv);
