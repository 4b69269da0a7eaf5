// rx doctor: compares a sweep's ledger with the evidence outside it — the refs refs/rx/<sweep>/*
// (here and in the target's clone), the run directories and job-id markers on the target, the jobs
// the scheduler knows — over one connection and one survey script, and says what it found. With
// rebuild it appends what the ledger lacks (never removing anything), so a lost or rolled-back
// ledger can be rebuilt before the next rx submit.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { RepoContext } from '../git/repo.ts';
import { Ledger, sweepDir } from '../ledger/ledger.ts';
import { acquireLock } from '../ledger/lock.ts';
import { openTarget, outputRoot } from '../remote/target.ts';
import type { RemoteSpec } from '../remote/config.ts';
import { planSweep, type LoadedSweep } from '../sweep/definition.ts';
import { validateSweepName } from '../sweep/names.ts';
import type { Out } from '../ui.ts';
import { applyReconciliation, gatherEvidence, reconcile, variedAgainst, type Finding } from './reconcile.ts';
import { prepare, sweepRecord } from './submit.ts';
import type { SubmissionContext } from './phases.ts';

export interface DoctorOptions {
  cwd: string;
  /** A sweep name (its ledger says where its runs are) or a sweep file (needed when the ledger is gone). */
  sweep: string;
  rebuild?: boolean;
  out: Out;
}

export interface DoctorResult {
  sweep: string;
  remote: string;
  ledger: { exists: boolean; points: number; dirs: number; jobs: number };
  refs: { local: number; clone: number };
  target: { clone: boolean; output: string; runDirs: number; markers: number; schedulerJobs: number };
  findings: Finding[];
  /** Ledger records the evidence calls for (appended with rebuild). */
  records: number;
  rebuilt: boolean;
  recovered: string[];
  adopted: string[];
}

const SWEEP_FILE = /\.(ts|mts|js|mjs|json|ya?ml)$/i;

/** The sweep to examine: its name, its remote, and (given a sweep file) the loaded sweep. */
async function resolveSweep(ctx: RepoContext, opts: DoctorOptions): Promise<{ name: string; remote: RemoteSpec & { label?: string }; label: string; loaded?: { sweep: LoadedSweep; c: SubmissionContext } }> {
  const path = resolve(opts.cwd, opts.sweep);
  if (SWEEP_FILE.test(opts.sweep) && existsSync(path) && statSync(path).isFile()) {
    const { checked, c } = await prepare(ctx, { sweep: opts.sweep, cwd: opts.cwd, out: opts.out });
    return { name: c.name, remote: c.remote, label: c.label, loaded: { sweep: planSweep(checked), c } };
  }
  const name = validateSweepName(opts.sweep, '--sweep');
  const ledger = new Ledger(sweepDir(ctx.rxDir, name), name);
  try {
    const remote = ledger.state().sweep?.remote;
    if (!remote) {
      throw new ConfigError(`sweep '${name}' has no ledger in ${ctx.top} (or it records no submission), so rx does not know where its runs are`, { hint: `Give its sweep file instead: rx doctor --sweep sweep.ts${opts.rebuild ? ' --rebuild' : ''}` });
    }
    return { name, remote, label: remote.label };
  } finally {
    ledger.close();
  }
}

export async function doctorSweep(ctx: RepoContext, opts: DoctorOptions): Promise<DoctorResult> {
  const { name, remote, label, loaded } = await resolveSweep(ctx, opts);
  const dir = sweepDir(ctx.rxDir, name);
  // Rebuilding appends: it takes the sweep's lock, as rx submit does, so the two never interleave.
  const release = opts.rebuild ? acquireLock(dir, `sweep '${name}'`) : () => {};
  const ledger = new Ledger(dir, name);
  try {
    const state = ledger.state();
    const recorded = state.sweep?.remote;
    if (recorded && recorded.label !== label) opts.out.warn(`rx: ${name}: the ledger says the sweep was submitted to ${recorded.label}; looking there, not at ${label}`);
    const r0 = recorded ?? remote;
    const root = outputRoot(r0, ctx.top);
    const target = await openTarget(r0, ctx.top, { checkIdentityFiles: true });
    try {
      const { survey, localRefs, localDocs } = await gatherEvidence(ctx.top, name, state, target, { outputRoot: root, complete: true });
      const planned = new Map((loaded?.sweep.points ?? []).map(p => [p.hash, p.varied]));
      const base = (loaded?.sweep.def.base_config ?? (state.sweep?.definition.base_config as Record<string, unknown> | undefined)) ?? {};
      const fallback = variedAgainst(base);
      const r = reconcile({
        sweep: name, state, survey, localRefs, localDocs, outputRoot: root, stateDir: target.stateDir, label: recorded?.label ?? label, scheduler: target.scheduler,
        varied: d => planned.get(d.hash) ?? fallback(d), complete: true,
      });
      let rebuilt = false;
      if (opts.rebuild && r.events.length) {
        if (!state.sweep && !loaded) throw new ConfigError(`sweep '${name}': the ledger has no sweep record to rebuild on`, { hint: `Give the sweep file: rx doctor --sweep sweep.ts --rebuild` });
        const first = !state.sweep && loaded ? sweepRecord(state, loaded.sweep, loaded.c, opts.cwd) : null;
        if (first) ledger.append(first);
        await applyReconciliation(ctx.top, name, ledger, r);
        rebuilt = true;
      }
      const points = [...(rebuilt ? ledger.state() : state).points.values()];
      return {
        sweep: name,
        remote: recorded?.label ?? label,
        ledger: { exists: existsSync(ledger.file) && points.length > 0, points: points.length, dirs: points.filter(p => p.dir && p.created).length, jobs: points.filter(p => p.jobs.length).length },
        refs: { local: localRefs.size, clone: survey.refs.size },
        target: {
          clone: survey.clone, output: root,
          runDirs: survey.entries.filter(e => e.kind === 'dir' && e.doc?.sweep === name).length,
          markers: survey.markers.size, schedulerJobs: survey.jobs.length,
        },
        findings: r.findings, records: r.events.length, rebuilt, recovered: r.recovered, adopted: r.adopted,
      };
    } finally {
      await target.close();
    }
  } finally {
    ledger.close();
    release();
  }
}
