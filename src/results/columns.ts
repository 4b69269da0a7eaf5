// Column names of a dataset: one rule for a name that is already taken, wherever names meet
// (parameters vs provenance, results of several parse entries, several reducers of one entry).

/**
 * `name`, or `name_`, `name__`, … — the first that `taken` does not hold (psweep's rule), so no
 * value ever hides another. `taken` is a set of names or an object whose keys are the names.
 */
export function uniqueName(name: string, taken: ReadonlySet<string> | Record<string, unknown>): string {
  const has = taken instanceof Set ? (n: string) => taken.has(n) : (n: string) => n in taken;
  let out = name;
  while (has(out)) out += '_';
  return out;
}
