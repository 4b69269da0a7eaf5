// rx report: one self-contained HTML page per sweep (src/report/build.ts), optionally opened in the
// default browser.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { repoContext } from '../git/repo.ts';
import { run } from '../proc.ts';
import { makeReports, type ReportRequest, type ReportSummary } from '../report/build.ts';
import { makeOut, type Out } from '../ui.ts';

export type { ReportSummary } from '../report/build.ts';

export interface ReportOptions extends ReportRequest {
  open?: boolean;
  json?: boolean;
  out_?: Out;
}

export async function report(opts: ReportOptions): Promise<ReportSummary[]> {
  const out = opts.out_ ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const { reports, warnings } = await makeReports(ctx, opts);
  for (const w of warnings) out.warn(`rx: ${w}`);
  if (opts.json) process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
  else for (const r of reports) {
    const tracks = r.tracks ? `, ${r.tracks.runs} tracks (${r.tracks.y} vs ${r.tracks.x})` : '';
    out.info(`${r.sweep}: ${r.runs} runs, ${r.layout} state map, ${r.results.length} result plots${tracks}, ${(r.bytes / 1024).toFixed(0)} kB → ${r.file}`);
  }
  if (opts.open) for (const r of reports) await openFile(r.file, out);
  return reports;
}

/** Opens a file with the desktop's default program (xdg-open, open, start), if there is one. */
async function openFile(file: string, out: Out): Promise<void> {
  const argv = process.platform === 'darwin' ? ['open', file] : process.platform === 'win32' ? ['cmd', '/c', 'start', '""', file] : ['xdg-open', file];
  if (!onPath(argv[0]!)) {
    out.warn(`rx: --open: ${argv[0]} not found; open ${file} in a browser`);
    return;
  }
  await run(argv, { detached: true });
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some(d => d && existsSync(join(d, cmd)));
}
