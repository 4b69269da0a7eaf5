// How many more jobs the cluster lets this user submit: the submit limits of the user's association
// and of the QOS the jobs will run under (`sacctmgr show assoc/qos -P`, when readable), minus the
// jobs already queued (one `squeue`; array tasks count one each, as they do against these limits).
// Unreadable limits mean no limit: sbatch still refuses what is over, and rx records that as
// UNSUBMITTED (limitRefusal), never as a failed experiment.
import { sh } from '../../quote.ts';

const SECTION = '@@RXL';

/** The QOS named by `--qos`/`-q` in these words (a script's #SBATCH words, then sbatchArgs: the last wins), if any. */
export function qosOf(sbatchArgs: readonly string[]): string | null {
  for (let i = sbatchArgs.length - 1; i >= 0; i--) {
    const a = sbatchArgs[i]!;
    const m = /^--qos=(.+)$/.exec(a) ?? /^-q(.+)$/.exec(a);
    if (m) return m[1]!;
    if ((a === '--qos' || a === '-q') && sbatchArgs[i + 1]) return sbatchArgs[i + 1]!;
  }
  return null;
}

/** Bash printing the limits' raw material in sections: the user's associations, the QOS table, the QOS of each of the user's queued jobs. */
export function limitsScript(): string {
  return sh.lines([
    sh`rx_u=$(id -un)`,
    sh`echo ${SECTION + ' assoc'}; sacctmgr -n -P show assoc where user="$rx_u" format=MaxSubmitJobs,GrpSubmitJobs,DefaultQOS 2>/dev/null`,
    sh`echo ${SECTION + ' qos'}; sacctmgr -n -P show qos format=Name,MaxSubmitJobsPerUser,GrpSubmitJobs 2>/dev/null`,
    sh`echo ${SECTION + ' jobs'}; squeue -h -r -u "$rx_u" -o '%q' 2>/dev/null`,
    sh`echo ${SECTION + ' end'}`,
    sh`exit 0`, sh``,
  ]).text;
}

export interface SubmitBudget {
  /** Jobs that may still be submitted (Infinity: no limit known). */
  jobs: number;
  /** Which limit it is, for the message. */
  why: string | null;
}

const int = (s: string | undefined) => (s && /^\d+$/.test(s.trim()) ? Number(s.trim()) : null);

/** Pure: the output of limitsScript → how many more jobs fit, and the tightest limit's name. */
export function parseBudget(stdout: string, qosArg: string | null): SubmitBudget {
  const sections = new Map<string, string[]>();
  let cur = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith(SECTION + ' ')) { cur = line.slice(SECTION.length + 1).trim(); sections.set(cur, []); continue; }
    if (line.trim()) sections.get(cur)?.push(line.trim());
  }
  const queued = sections.get('jobs') ?? [];
  const candidates: { left: number; why: string }[] = [];
  let defaultQos: string | null = null;
  for (const row of sections.get('assoc') ?? []) {
    const [max, grp, dq] = row.split('|');
    defaultQos ??= dq?.trim() || null;
    const m = int(max);
    if (m !== null) candidates.push({ left: m - queued.length, why: `MaxSubmitJobs=${m} of your association (${queued.length} of your jobs already queued)` });
    const g = int(grp);
    if (g !== null) candidates.push({ left: g - queued.length, why: `GrpSubmitJobs=${g} of your association (${queued.length} of your jobs queued; other users' jobs count too)` });
  }
  const qos = qosArg ?? defaultQos ?? 'normal';
  const inQos = queued.filter(q => q === qos).length;
  for (const row of sections.get('qos') ?? []) {
    const [name, perUser, grp] = row.split('|');
    if (name?.trim() !== qos) continue;
    const m = int(perUser);
    if (m !== null) candidates.push({ left: m - inQos, why: `MaxSubmitJobsPerUser=${m} of QOS ${qos} (${inQos} of your jobs in it already queued)` });
    const g = int(grp);
    if (g !== null) candidates.push({ left: g - inQos, why: `GrpSubmitJobs=${g} of QOS ${qos}` });
  }
  if (!candidates.length) return { jobs: Infinity, why: null };
  const tightest = candidates.reduce((a, b) => (b.left < a.left ? b : a));
  return { jobs: Math.max(0, tightest.left), why: tightest.why };
}

/** Whether an sbatch error says a submit limit was reached (the point waits; it did not fail). */
export function limitRefusal(message: string): boolean {
  return /MaxSubmitJob|SubmitJobLimit|SubmitJobsLimit|job submit limit|MaxJobCount|Resource temporarily unavailable/i.test(message);
}

