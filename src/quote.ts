// The one place that quotes for a POSIX shell (the remote side's bash, or local bash scripts).
//
// Scripts are built with the `sh` tagged template: every interpolated value is quoted as one word
// unless it is explicitly marked as shell text. So a call site cannot forget to quote:
//
//   sh`mk ${key} ${sha} ${sh.path(dir)}`      strings and numbers → one quoted word each
//   sh`scancel ${ids}`                         arrays → space-separated quoted words
//   sh`${PRELUDE}\nrx_submit ${args}`          a fragment made by sh (or sh.path / sh.raw / sh.lines) → as is
//   sh`repo=${sh.path('~/rx/repo')}`           a path whose leading `~/` means the (remote) home
//   sh.raw(text)                               already-built shell text: the one escape hatch, greppable
//
// Anything else (undefined, null, booleans, objects, NaN) throws when the script is built, so it
// can never end up in a script as text. The template's own text is the literal's *cooked* text
// (as in a plain template literal: `\\n` is a backslash and an n, `\${` is a literal `${`).

/**
 * Quote one word for sh/bash: the result always reads back as exactly `s`.
 * Single quotes protect everything but the single quote itself, which is closed, escaped, reopened.
 * NUL cannot be passed through a shell word at all, so it is refused.
 */
export function shq(s: string): string {
  if (s.includes('\0')) throw new Error('a shell word cannot contain a NUL byte');
  if (s !== '' && /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s)) return s;
  return "'" + s.replace(/'/g, `'\\''`) + "'";
}

/** Quote an argv into one command line for sh. */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shq).join(' ');
}

/**
 * Quote a path for the remote shell, keeping a leading `~/` meaning the remote home
 * (a quoted `~` would not expand). Everything after it is quoted literally.
 */
function shqPath(p: string): string {
  if (p === '~') return '"$HOME"';
  if (p.startsWith('~/')) return '"$HOME"/' + shq(p.slice(2));
  return shq(p);
}

/** Only this module holds it: fragments are made by sh, sh.path, sh.raw and sh.lines, nowhere else. */
const MAKE = Symbol('rx.sh');

/** Shell text built by `sh` (or marked by sh.path / sh.raw / sh.lines): it nests into `sh` as is. */
export class ShFragment {
  readonly #text: string;
  constructor(token: typeof MAKE, text: string) {
    if (token !== MAKE) throw new TypeError('ShFragment: build shell text with sh`…`, sh.path() or sh.raw()');
    if (text.includes('\0')) throw new Error('shell text cannot contain a NUL byte');
    this.#text = text;
  }
  /** The shell text. */
  get text(): string {
    return this.#text;
  }
  /**
   * Refused: a fragment turned into a plain string (`a + b`, a plain template literal) would be
   * quoted again when it went back into sh`…`. Nest fragments in sh`…` / sh.lines; take `.text`
   * only where the finished script leaves for a transport.
   */
  toString(): never {
    throw new TypeError('an sh fragment cannot become a plain string implicitly: nest it in sh`…`, or take .text for the finished script');
  }
  [Symbol.toPrimitive](): never {
    return this.toString();
  }
}

const fragment = (text: string) => new ShFragment(MAKE, text);

/** What `sh` interpolates: a word (quoted), a fragment (as is), or an array of those (words joined by spaces). */
export type ShValue = string | number | ShFragment | readonly (string | number | ShFragment)[];

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `an object (${Object.prototype.toString.call(v)})`;
  if (typeof v === 'number') return String(v);
  return typeof v;
}

function word(v: unknown, where: () => string): string {
  if (typeof v === 'string') return shq(v);
  if (v instanceof ShFragment) return v.text;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`sh: refusing to interpolate ${v} ${where()}`);
    return shq(String(v));
  }
  throw new TypeError(`sh: refusing to interpolate ${describe(v)} ${where()}; only strings, finite numbers, sh fragments and arrays of them can go into a script`);
}

function value(v: unknown, where: () => string): string {
  if (Array.isArray(v)) return v.map((x, i) => word(x, () => `(element ${i} of an array) ${where()}`)).join(' ');
  return word(v, where);
}

interface Sh {
  /** Builds shell text: each interpolated string/number is one quoted word, each array element one word, fragments go in as is. */
  (strings: TemplateStringsArray, ...values: ShValue[]): ShFragment;
  /** A path for the (remote) shell: a leading `~/` (or `~` alone) means the home directory, the rest is quoted. */
  path(p: string): ShFragment;
  /** Shell text used as is: the explicit escape hatch (prefer nesting fragments made by `sh`). */
  raw(text: string): ShFragment;
  /** Fragments joined by newlines (no trailing newline). Only fragments: a plain string here would be a quoting mistake. */
  lines(parts: readonly ShFragment[]): ShFragment;
}

export const sh: Sh = Object.assign(
  (strings: TemplateStringsArray, ...values: ShValue[]): ShFragment => {
    let out = '';
    for (let i = 0; i < strings.length; i++) {
      const s = strings[i];
      if (s === undefined) throw new SyntaxError('sh: invalid escape sequence in the template text');
      out += s;
      if (i < values.length) {
        out += value(values[i], () => `after ${JSON.stringify(s.slice(-40))}`);
      }
    }
    return fragment(out);
  },
  {
    path(p: string): ShFragment {
      if (typeof p !== 'string') throw new TypeError(`sh.path: refusing ${describe(p)}, a path must be a string`);
      return fragment(shqPath(p));
    },
    raw(text: string): ShFragment {
      if (typeof text !== 'string') throw new TypeError(`sh.raw: refusing ${describe(text)}, shell text must be a string`);
      return fragment(text);
    },
    lines(parts: readonly ShFragment[]): ShFragment {
      return fragment(parts.map((p, i) => {
        if (!(p instanceof ShFragment)) throw new TypeError(`sh.lines: line ${i} is ${describe(p)}, not an sh fragment`);
        return p.text;
      }).join('\n'));
    },
  },
);
