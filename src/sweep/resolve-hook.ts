// Module resolve hook for sweep files (registered with node:module's public `register`):
// - `remote-experiments` always means the running rx, so sweep files anywhere (with no
//   node_modules of their own) can import defineSweep, patchers and parsers;
// - a sweep file and the TypeScript files it imports load as ES modules even outside a
//   "type": "module" package. Otherwise tsx would compile them to CommonJS, whose `require` no
//   public hook of Node 20 can redirect. Sweep files are ES modules by definition
//   (`export default defineSweep(...)`).
let target = '';
let loader = '';

export function initialize(data: { target: string; loader: string }): void {
  target = data.target;
  loader = data.loader;
}

interface Resolved { url: string; format?: string | null; shortCircuit?: boolean }
interface Context { parentURL?: string }
type Next = (specifier: string, context: Context) => Promise<Resolved>;

const pathOf = (url: string) => (url.startsWith('file:') ? new URL(url).pathname : '');

export async function resolve(specifier: string, context: Context, next: Next): Promise<Resolved> {
  if (specifier === 'remote-experiments' && target) return { url: target, format: 'module', shortCircuit: true };
  const r = await next(specifier, context);
  const path = pathOf(r.url);
  const fromLoader = context.parentURL !== undefined && pathOf(context.parentURL) === pathOf(loader);
  const ownTs = /\.(ts|mts)$/.test(path) && !path.includes('/node_modules/');
  if (path && (ownTs || (fromLoader && /\.(js|mjs)$/.test(path)))) return { ...r, format: 'module' };
  return r;
}
