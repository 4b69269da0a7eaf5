// Run directory names: <sweep>_time_YYYY_MM_DD_HH_MM_SS_sha_<short>, as RemoteExperiments names them.
import { DateTime } from 'luxon';

export function runDirName(sweep: string, when: Date, short: string): string {
  return `${sweep}_time_${DateTime.fromJSDate(when, { zone: 'utc' }).toFormat('yyyy_MM_dd_HH_mm_ss')}_sha_${short}`;
}

/**
 * The shortest prefix (at least 7 hex digits) of each sha that is unique among all shas given,
 * so run directory names never collide within a sweep.
 */
export function uniquePrefixes(shas: string[], min = 7): Map<string, string> {
  const out = new Map<string, string>();
  const sorted = [...new Set(shas)].sort();
  sorted.forEach((s, i) => {
    let len = min;
    for (const n of [sorted[i - 1], sorted[i + 1]]) {
      if (!n) continue;
      let common = 0;
      while (common < s.length && s[common] === n[common]) common++;
      len = Math.max(len, common + 1);
    }
    out.set(s, s.slice(0, len));
  });
  return out;
}
