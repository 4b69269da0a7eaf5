// npm run bench: measurements appended to BENCHMARKS.md (`npm run bench -- startup fetch` runs only
// those sections). Needs the built CLI (npm run build) and the test cluster (root): test/cluster/up.sh.
//
// startup: whole rx processes against `node -e 0`.
// submit: whole rx submit / rx status processes over ssh to the local Slurm against the floors
// measured in the same run (bench/submit.ts).
import { appendFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { benchSubmit } from './submit.ts';
import { benchPlanning } from './points.ts';
import { benchFetch } from './fetch.ts';
import { benchDataset } from './dataset.ts';
import { benchParsers } from './parsers.ts';
import { benchStartup } from './startup.ts';
import { benchReport } from './report.ts';

const lines: string[] = [];
const say = (s: string) => { console.log(s); lines.push(s); };

async function main() {
  const which = process.argv.slice(2);
  say(`\n## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}\n`);
  // name (for `npm run bench -- <name>…`), heading, measurement; the planning bench writes its own heading.
  const sections: [string, string | null, () => Promise<void>][] = [
    ['startup', 'Start-up of the rx command', () => benchStartup(say)],
    ['submit', 'rx submit and rx status over ssh to the local Slurm (whole processes)', () => benchSubmit(say)],
    ['points', null, () => benchPlanning(say)],
    ['fetch', 'rx fetch / rx link over ssh to the local Slurm', () => benchFetch(say)],
    ['parsers', 'Parsers and patchers', () => benchParsers(say)],
    ['dataset', 'rx dataset', () => benchDataset(say)],
    ['report', 'rx report (10,000 runs, headless Chromium)', () => benchReport(say)],
  ];
  for (const [name, heading, measure] of sections) {
    if (which.length && !which.includes(name)) continue;
    say(heading ? `\n### ${heading}\n` : '');
    await measure();
  }
  const file = new URL('../BENCHMARKS.md', import.meta.url);
  if (!existsSync(file)) await writeFile(file, '# Benchmarks\n\nAppended by `npm run bench` (newest last). Machine: the project\'s 2-core, 24 GiB workplace.\n');
  await appendFile(file, lines.join('\n') + '\n');
}

await main();
