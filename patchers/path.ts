// Dotted paths into JSON/YAML documents: `a.b.c`, `a.b[0]`, `a.0`, `a["key.with.dots"]`.
import { PatchError } from './errors.ts';

export type PathSegment = string | number;

export function parsePath(path: string, file?: string): PathSegment[] {
  const out: PathSegment[] = [];
  let i = 0;
  const bad = (why: string): never => {
    throw new PatchError(`path '${path}': ${why}`, file, path);
  };
  if (path === '') bad('empty');
  while (i < path.length) {
    if (path[i] === '[') {
      const q = path[i + 1];
      if (q === '"' || q === "'") {
        const close = path.indexOf(q + ']', i + 2);
        if (close === -1) bad(`unclosed [${q}`);
        out.push(path.slice(i + 2, close));
        i = close + 2;
      } else {
        const m = /^\[(\d+)\]/.exec(path.slice(i));
        if (!m) bad(`expected [index] or ["key"] at character ${i + 1}`);
        out.push(Number(m![1]));
        i += m![0].length;
      }
      if (i < path.length && path[i] !== '.' && path[i] !== '[') bad(`unexpected '${path[i]}' at character ${i + 1}`);
      if (path[i] === '.') i++;
      continue;
    }
    let j = i;
    while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
    const seg = path.slice(i, j);
    if (seg === '') bad(`empty segment at character ${i + 1}`);
    out.push(/^\d+$/.test(seg) ? Number(seg) : seg);
    i = j;
    if (path[i] === '.') {
      i++;
      if (i === path.length) bad('ends with a dot');
    }
  }
  return out;
}
