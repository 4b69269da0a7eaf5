// Module resolve hook: `remote-experiments` always means the running rx, so sweep files outside
// this package's folder (with no node_modules of their own) can import defineSweep and friends.
let target;
export function initialize(data) {
  target = data.target;
}
export async function resolve(specifier, context, next) {
  if (specifier === 'remote-experiments') return { url: target, shortCircuit: true };
  return next(specifier, context);
}
