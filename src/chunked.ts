// Splitting a list into bounded batches: command lines (scancel, squeue ids, push refspecs) and
// job-array sizes all have limits.

/** `xs` in consecutive chunks of at most n items (n below 1 counts as 1). */
export function chunked<T>(xs: readonly T[], n: number): T[][] {
  const size = Math.max(1, Math.floor(n));
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
