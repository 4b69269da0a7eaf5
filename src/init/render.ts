// The sweep.ts `rx init` writes: pure, from what discover.ts found. It must dry-run as it is
// (`rx submit --sweep sweep.ts --dry-run`), so every name in it is one its patcher accepts, and
// everything else the repository offers is listed in comments to copy from.
import { validateSweepName } from '../sweep/names.ts';
import type { ConfigFile, Discovery } from './discover.ts';
import { trialValues } from './keys.ts';

export interface RenderOptions {
  /** A Host alias to submit to (given, or the only one in ~/.ssh/config). */
  host?: string | null;
  /** For the header line (tests pin it). */
  date?: string;
}

export interface Rendered {
  text: string;
  name: string;
  /** The file patched, or null when the repository has no config file rx can patch. */
  patched: string | null;
  /** The varied parameters and their values. */
  dimensions: Record<string, unknown[]>;
  host: string | null;
  /** What is missing before a real submission works. */
  todo: string[];
}

/** A sweep name from the repository's folder name (letters, digits, `._-`). */
export function sweepNameFor(dirName: string): string {
  let n = dirName.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/\.{2,}/g, '.').replace(/^[._-]+/, '').replace(/(\.lock|\.)+$/, '').slice(0, 100);
  if (!n) n = 'sweep';
  return validateSweepName(n);
}

/** A value as TypeScript source: strings single-quoted (JSON's escapes, so nothing breaks out). */
const lit = (v: unknown): string => (typeof v === 'string' ? `'${JSON.stringify(v).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'` : JSON.stringify(v));
const prop = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : lit(k));
/** Text from a file, safe inside a `//` comment: one line, not too long. */
const note = (s: string) => s.replace(/[\r\n\u2028\u2029]+/g, ' ').slice(0, 100);

/** The parameters the first sweep varies: MESA's mass and metallicity if there, else the first numbers. */
function chooseDimensions(c: ConfigFile): Record<string, unknown[]> {
  const prefer = ['initial_mass', 'initial_z', 'controls.initial_mass', 'controls.initial_z'];
  const numeric = c.keys.filter(([, v]) => trialValues(v));
  const picked = [...numeric.filter(([k]) => prefer.includes(k)), ...numeric.filter(([k]) => !prefer.includes(k))].slice(0, 2);
  if (!picked.length && c.keys.length) return { [c.keys[0]![0]]: [c.keys[0]![1]] };
  return Object.fromEntries(picked.map(([k, v]) => [k, trialValues(v)!]));
}

function configLines(c: ConfigFile, dims: Record<string, unknown[]>): string[] {
  const rest = c.keys.filter(([k]) => !(k in dims));
  const shown = rest.slice(0, 12).map(([k, v]) => `//     ${note(k)} = ${note(lit(v))}`);
  return [
    `//   ${note(c.path)} (${c.kind}, ${c.keys.length} key${c.keys.length === 1 ? '' : 's'}; patcher { type: ${lit(c.kind)}, file: ${note(lit(c.path))} })`,
    ...shown,
    ...(rest.length > 12 ? [`//     … and ${rest.length - 12} more`] : []),
  ];
}

function remoteLines(d: Discovery, name: string, host: string | null): string[] {
  const script = d.script && d.script !== 'run.sbatch' ? [`    script: ${lit(d.script)},`] : [];
  if (host) {
    return [
      '  remote: {',
      `    host: ${lit(host)},                 // a Host of ~/.ssh/config`,
      `    repo: ${lit(`~/rx/${name}`)},       // the clone of origin on the cluster (made if missing)`,
      `    output: ${lit(`~/rx-runs/${name}`)}, // run directories go below this`,
      ...script,
      "    // sbatchArgs: ['--time=1:00:00', '--partition=short'],",
      '  },',
    ];
  }
  const others = d.sshHosts.length ? `  // ssh hosts in ~/.ssh/config: ${note(d.sshHosts.slice(0, 8).join(', '))}` : '  // (no Host in ~/.ssh/config yet)';
  return [
    '  // No remote: the embedded default (this machine, runs under .rx/runs/). For a cluster:',
    `  // remote: { host: 'mycluster', repo: ${lit(`~/rx/${name}`)}, output: ${lit(`~/rx-runs/${name}`)} },`,
    others,
    ...(script.length ? ["  remote: { host: 'local',", ...script.map(s => '  ' + s), '  },'] : []),
  ];
}

/** What a real submission still needs, said once in the file and on the terminal. */
function todoList(d: Discovery, host: string | null): string[] {
  const todo: string[] = [];
  if (!d.configs.length) todo.push('no config file rx can patch was found (MESA inlist, JSON, YAML, key = value): add one, commit it, and set `patcher`');
  if (!d.script) todo.push('no batch script was found: write run.sbatch (it runs in each run directory) and commit it');
  if (host && !d.origin) todo.push('no `origin` remote: the cluster clones your repository from it (git remote add origin <url>)');
  return todo;
}

export function renderSweep(d: Discovery, opts: RenderOptions = {}): Rendered {
  const name = sweepNameFor(d.dirName);
  const host = opts.host ?? (d.sshHosts.length === 1 ? d.sshHosts[0]! : null);
  const main = d.configs[0] ?? null;
  const dims = main ? chooseDimensions(main) : {};
  const todo = todoList(d, host);
  const lines = [
    "import { defineSweep } from 'remote-experiments';",
    '',
    `// Written by \`rx init\`${opts.date ? ` on ${opts.date}` : ''}. Try it: rx submit --sweep sweep.ts --dry-run`,
    '// Each point below becomes one commit (your files, patched) and one job. What rx found:',
    `//   branch ${note(d.branch)}, origin ${d.origin ? note(d.origin) : '(none)'}, batch script ${d.script ? note(d.script) : '(none)'}`,
    ...(d.configs.length ? ['// Config files and the keys a patcher can set (current values):', ...d.configs.slice(0, 6).flatMap(c => configLines(c, dims))] : []),
    ...todo.map(t => `// TODO: ${t}`),
    'export default defineSweep({',
    `  name: ${lit(name)},`,
    `  branch: ${lit(d.branch)},`,
    '  // Applied to every point, e.g. { max_age: 1e9 }.',
    '  base_config: {},',
    '  // Every combination is one run (the last key varies fastest); now: the current value and one more.',
    '  dimensions: {',
    ...Object.entries(dims).map(([k, v]) => `    ${prop(k)}: [${v.map(lit).join(', ')}],`),
    '  },',
    ...(main ? [`  patcher: { type: ${lit(main.kind)}, file: ${lit(main.path)} },`] : ['  // patcher: { type: \'json\', file: \'config.json\' },']),
    ...(main?.kind === 'mesa' ? ["  // What rx dataset reads from each run:", "  // parse: { file: 'LOGS/history.data', parser: 'mesaHistory', reduce: [{ last: ['star_age', 'log_L'] }] },"] : []),
    ...remoteLines(d, name, host),
    '});',
    '',
  ];
  return { text: lines.join('\n'), name, patched: main?.path ?? null, dimensions: dims, host, todo };
}
