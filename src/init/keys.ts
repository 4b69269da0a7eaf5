// The parameters a config file offers to a sweep: each key a patcher can set, with its value now.
// Pure: parsers read the file, and every key is checked with the patcher's own probe (`has`), so
// the sweep file `rx init` writes names only keys its patcher accepts.
import { mesaInlist } from '../../parsers/namelist.ts';
import { json as parseJson } from '../../parsers/json.ts';
import { yaml as parseYaml } from '../../parsers/yaml.ts';
import { keyvalue as parseKeyValue } from '../../parsers/keyvalue.ts';
import { PATCHERS } from '../../patchers/index.ts';

export type ConfigKind = 'mesa' | 'json' | 'yaml' | 'keyvalue';

type Scalar = string | number | boolean;
const isScalar = (v: unknown): v is Scalar => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** Scalar leaves of a JSON/YAML document as `a.b.c` paths (keys that need quoting are left out). */
function leaves(v: unknown, prefix: string, out: [string, unknown][], depth = 0): void {
  if (depth > 8 || out.length >= 500) return;
  if (isScalar(v)) {
    if (prefix) out.push([prefix, v]);
    return;
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) if (/^[A-Za-z_][\w-]*$/.test(k)) leaves(x, prefix ? `${prefix}.${k}` : k, out, depth + 1);
  }
}

/** MESA keys without their group where that is unambiguous (`initial_mass`), else `controls.x`. */
function mesaKeys(text: string, file: string): [string, unknown][] {
  const values = Object.entries(mesaInlist(text, { file })).filter(([, v]) => isScalar(v));
  const plain = (k: string) => k.slice(k.indexOf('.') + 1);
  const count = new Map<string, number>();
  for (const [k] of values) count.set(plain(k), (count.get(plain(k)) ?? 0) + 1);
  return values.map(([k, v]) => [count.get(plain(k)) === 1 ? plain(k) : k, v]);
}

function parsedKeys(kind: ConfigKind, text: string, file: string): [string, unknown][] {
  if (kind === 'mesa') return mesaKeys(text, file);
  if (kind === 'keyvalue') return Object.entries(parseKeyValue(text, { file })).filter(([, v]) => isScalar(v));
  const out: [string, unknown][] = [];
  leaves(kind === 'json' ? parseJson(text, { file }) : parseYaml(text, { file }), '', out);
  return out;
}

/** The keys of `text` the `kind` patcher can set, with their values; [] when the file does not parse. */
export function configKeys(kind: ConfigKind, text: string, file: string): [string, unknown][] {
  let keys: [string, unknown][];
  try {
    keys = parsedKeys(kind, text, file);
  } catch {
    return []; // not a config file of this kind after all (a JSON fixture, a YAML with tags…)
  }
  return keys.filter(([k]) => {
    try {
      return PATCHERS[kind].has(text, k, {});
    } catch {
      return false;
    }
  });
}

/**
 * Two values to try for a parameter now at `v`: the current one and a neighbour, so the first
 * sweep is small and every value is one the file already takes. Null: not a number to vary.
 */
export function trialValues(v: unknown): [number, number] | null {
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  if (Number.isInteger(v)) return [v, v === 0 ? 1 : v * 2];
  return [v, Number((v * 2).toPrecision(12))];
}
