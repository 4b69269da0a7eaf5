// How long `rx run` waits between two status calls: the poll interval while something changes, and
// longer (×1.5 per quiet poll, at most 4× the interval) while nothing does, so a long queue costs
// few connections. Pure.

/** Longest wait, as a multiple of the poll interval. */
export const MAX_FACTOR = 4;
const GROWTH = 1.5;

/** The next wait (seconds) after a poll that did (`changed`) or did not change anything. */
export function nextDelay(previous: number, poll: number, changed: boolean): number {
  if (changed) return poll;
  return Math.min(Math.max(previous * GROWTH, poll), poll * MAX_FACTOR);
}
