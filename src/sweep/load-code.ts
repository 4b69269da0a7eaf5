// Loading a sweep file written as code (.ts/.mts/.cts/.js/.mjs/.cjs). tsx compiles TypeScript; it is
// imported here, only when a code sweep file is read, so no other command pays for it.
import { register } from 'node:module';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';

let registered = false;

/**
 * Makes `import ... from 'remote-experiments'` inside sweep files resolve to this very rx (the
 * package's entry next to this module), wherever the sweep file lives. Public `module.register`
 * hooks, once per process.
 */
function registerSelfResolve(): void {
  if (registered) return;
  registered = true;
  // Compiled (dist/…/*.js) or run from source through tsx (src/…/*.ts): the same layout either way.
  const ext = extname(new URL(import.meta.url).pathname);
  const self = new URL(`../index${ext}`, import.meta.url).href;
  register(new URL(`./resolve-hook${ext}`, import.meta.url), { data: { target: self, loader: import.meta.url } });
}

/** The module namespace of a code sweep file. */
export async function importSweepModule(path: string): Promise<Record<string, unknown>> {
  registerSelfResolve();
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(pathToFileURL(path).href, import.meta.url)) as Record<string, unknown>;
}
