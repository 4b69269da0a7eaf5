// rx report end to end: a real sweep (Slurm over ssh: a grid with a failed and a cancelled run;
// locally: a sampled sweep), `rx dataset --rows` long format, then the page in headless Chromium:
// no request and no console error, one state-map mark per run, points in every result plot, a
// track per finished run, one table row per run, and a hover that shows the run's params.
// Screenshots go to $RX_TEST_OUTPUT (default <tmp>/rx-test-output/) and their paths are printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Browser } from 'puppeteer-core';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';
import { clusterSession } from '../helpers/cluster.ts';
import { launchChromium, recordingPage } from '../browser/chromium.ts';

const OUTPUT = process.env.RX_TEST_OUTPUT ?? join(tmpdir(), 'rx-test-output');

// m × k grid; (m=1, k=1) fails with exit 3 before writing anything, (m=3, k=1) sleeps until cancelled.
// history.data: 6 rows, star_age = 10 i, log_L = m i + k.
const gridFiles = {
  'config.inlist': '&controls\n  m = 1\n  k = 0\n/\n',
  'run.sbatch': [
    '#!/bin/bash',
    'get() { awk -v k="$1" \'$1 == k { print $3 }\' config.inlist; }',
    'm=$(get m); k=$(get k)',
    'if [ "$m$k" = 11 ]; then echo "ERROR: failing on purpose" >&2; exit 3; fi',
    // Killed by rx cancel: never writes history.data, even when Slurm's TERM reaches sleep before bash.
    'if [ "$m$k" = 31 ]; then sleep 600; exit 143; fi',
    'awk -v m="$m" -v k="$k" \'BEGIN {',
    '  printf "%40s %40s\\n", 1, 2; printf "%40s %40s\\n", "version_number", "initial_mass"; printf "%40s %40s\\n", "\\"r24\\"", m; print ""',
    '  printf "%40s %40s %40s\\n", 1, 2, 3; printf "%40s %40s %40s\\n", "model_number", "star_age", "log_L"',
    '  for (i = 1; i <= 6; i++) printf "%40d %40.16E %40.16E\\n", i, 10 * i, m * i + k',
    '}\' > history.data',
    '',
  ].join('\n'),
};

const gridSweep = (remote: string) => `
import { defineSweep, grid, plist } from 'remote-experiments';
export default defineSweep({
  name: 'rep',
  branch: 'main',
  points: grid(plist('m', [1, 2, 3]), plist('k', [0, 1])),
  patcher: { type: 'mesa', file: 'config.inlist' },
  parse: { file: 'history.data', reduce: [{ last: ['star_age', 'log_L'] }, { max: ['log_L'] }] },
  remote: ${remote},
});
`;

type Row = Record<string, unknown>;
const final = (s: string) => /^(COMPLETED|FAILED|CANCELLED)/.test(s);

interface PageExpect {
  runs: number;
  layout: 'grid' | 'scatter';
  results: string[];
  tracks?: number;
  /** Run index → the text its hover must show (its params). */
  hover: [number, string[]];
}

/** Loads a report in Chromium and checks what a reader sees. */
async function checkPage(browser: Browser, file: string, shot: string, e: PageExpect): Promise<void> {
  const { page, log } = await recordingPage(browser);
  try {
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForFunction('window.rxReport && window.rxReport.ready', { timeout: 30_000 });
    // State map: one mark per run.
    assert.equal(await page.$eval('#map', el => el.getAttribute('data-marks')), String(e.runs), 'one state-map mark per run');
    assert.match(await page.$eval('#map-note', el => el.textContent ?? ''), e.layout === 'grid' ? /grid sweep/ : /sampled sweep/);
    // Result plots: one per numeric result, each drawn with points once scrolled to.
    const plots = await page.$$eval('#results .chart', els => els.map(el => el.getAttribute('data-result')));
    assert.deepEqual(plots, e.results);
    for (const r of e.results) {
      await page.$eval(`#results .chart[data-result="${r}"]`, el => el.scrollIntoView());
      await page.waitForFunction(`Number(document.querySelector('#results .chart[data-result="${r}"]').getAttribute('data-marks')) > 0`, { timeout: 10_000 });
    }
    if (e.tracks !== undefined) {
      await page.$eval('#tracks', el => el.scrollIntoView());
      await page.waitForFunction(`document.getElementById('tracks').getAttribute('data-marks') === '${e.tracks}'`, { timeout: 10_000 });
    }
    // Table: one row per run (fewer than a page), every run once.
    const keys = await page.$$eval('#table tbody tr', trs => trs.map(tr => tr.querySelector('td')!.textContent));
    assert.equal(keys.length, e.runs, 'one table row per run');
    assert.equal(new Set(keys).size, e.runs);
    assert.equal(await page.$eval('#table', el => el.getAttribute('data-total')), String(e.runs));
    // Sorting by key, descending on the second click.
    await page.click('#table th[data-col="key"]');
    await page.click('#table th[data-col="key"]');
    assert.equal(await page.$eval('#table tbody tr td', td => td.textContent), String(e.runs));
    // The sha opens the run's details with the command that shows its diff.
    await page.click('#table tbody tr button.sha');
    assert.match(await page.$eval('#run-body', el => el.textContent ?? ''), /rx show [0-9a-f]{40}/);
    await page.keyboard.press('Escape');
    // Hover over a run's mark in the state map: its params.
    await page.$eval('#map', el => el.scrollIntoView());
    const [run, want] = e.hover;
    const at = await page.evaluate(`window.rxReport.markPosition('map', ${run})`) as { x: number; y: number } | null;
    assert.ok(at, 'the run has a mark');
    await page.mouse.move(at.x, at.y);
    await page.waitForFunction("!document.getElementById('tip').hidden", { timeout: 5000 });
    const tip = await page.$eval('#tip', el => (el as HTMLElement).innerText);
    for (const w of want) assert.ok(tip.includes(w), `hover shows '${w}': ${tip}`);
    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`report screenshot: ${shot}`);
    assert.deepEqual(log.requests, [], 'the page makes no request');
    assert.deepEqual(log.consoleErrors, [], 'no console error');
    assert.deepEqual(log.pageErrors, [], 'no uncaught error');
  } finally {
    await page.close();
  }
}

test('slurm over ssh: dataset --rows and the report of a grid sweep with a failed and a cancelled run', async t => {
  const c = await clusterSession(t, 'rx-report');
  if (!c) return;
  const browser = await launchChromium();
  if (!browser) { t.skip('no Chromium (run test/browser/setup.sh as root)'); return; }
  t.after(() => browser.close());
  const { env } = c;
  const g = await gitdir(t, { origin: true, files: gridFiles });
  await writeFile(join(g.work, 'sweep.ts'), gridSweep(JSON.stringify(c.remote())));
  await g.commit('sweep');
  await g.git.push('origin', 'main');
  await rxJson(['submit', '--sweep', 'sweep.ts'], { cwd: g.work, env });
  await eventually('five finished, one running', 120_000, async () => {
    const rows = await rxJson<{ state: string }[]>(['status'], { cwd: g.work, env });
    return rows.filter(r => final(r.state)).length === 5 && rows.some(r => r.state === 'RUNNING') ? true : undefined;
  });
  await rx(['cancel', '--sweep', 'rep', '--state', 'RUNNING'], { cwd: g.work, env });
  await eventually('all final', 60_000, async () => {
    const rows = await rxJson<{ state: string }[]>(['status'], { cwd: g.work, env });
    return rows.every(r => final(r.state)) ? true : undefined;
  });

  // The wide dataset: ISO 8601 UTC times; the cancelled run has no exit code (Slurm says 0:15).
  const wide = (await rxJson<{ file: string }[]>(['dataset', '--sweep', 'rep', '--format', 'jsonl', '--offline'], { cwd: g.work, env }))[0]!.file;
  const rows = (await readFile(wide, 'utf8')).trim().split('\n').map(l => JSON.parse(l) as Row);
  const cancelled = rows.find(r => String(r.state).startsWith('CANCELLED'))!;
  assert.equal(cancelled.exit_code, null);
  assert.equal(rows.find(r => r.state === 'FAILED')!.exit_code, 3);
  for (const r of rows) for (const k of ['submitted_at', 'start']) assert.match(String(r[k]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${k} of run ${r.key}`);

  // Long format: one row per history.data row of every run that wrote one (4 runs × 6 rows).
  const long = await rxJson<{ file: string; rows: number; complete: number; missing: number; columns: string[] }[]>(['dataset', '--sweep', 'rep', '--rows', 'history.data', '--offline'], { cwd: g.work, env });
  assert.equal(long[0]!.file, join(g.work, '.rx/datasets/rep.history.csv'));
  assert.deepEqual([long[0]!.rows, long[0]!.complete, long[0]!.missing], [24, 4, 2]);
  const lrows = parseCsv(await readFile(long[0]!.file, 'utf8'), { columns: true }) as Record<string, string>[];
  assert.equal(lrows.length, 24);
  for (const r of lrows) {
    assert.equal(r.state, 'COMPLETED');
    assert.equal(Number(r.log_L), Number(r.m) * Number(r.model_number) + Number(r.k), 'each row carries its own run\'s params');
    assert.equal(Number(r.row), Number(r.model_number) - 1);
  }

  // The report.
  const [s] = await rxJson<{ file: string; runs: number; layout: string; results: string[]; tracks: { runs: number; x: string; y: string } }[]>(
    ['report', '--sweep', 'rep', '--rows', 'history.data', '--x', 'star_age', '--y', 'log_L', '--offline'], { cwd: g.work, env });
  assert.equal(s!.file, join(g.work, '.rx/reports/rep.html'));
  assert.deepEqual([s!.runs, s!.layout, s!.tracks.runs, s!.tracks.x, s!.tracks.y], [6, 'grid', 4, 'star_age', 'log_L']);
  assert.deepEqual(s!.results, ['star_age', 'log_L', 'log_L_max']);
  const failed = rows.findIndex(r => r.state === 'FAILED');
  const f = rows[failed]!;
  await checkPage(browser, s!.file, join(OUTPUT, 'report-slurm-grid.png'), {
    runs: 6, layout: 'grid', results: ['star_age', 'log_L', 'log_L_max'], tracks: 4,
    hover: [failed, [`run ${f.key}`, 'FAILED', `m = ${f.m}`, `k = ${f.k}`, `job ${f.job_id}, exit 3`, String(f.dir)]],
  });
});

test('local: a sampled sweep is a scatter map; --out, and --x without --rows is refused', async t => {
  const browser = await launchChromium();
  if (!browser) { t.skip('no Chromium (run test/browser/setup.sh as root)'); return; }
  t.after(() => browser.close());
  const g = await gitdir(t, { origin: true, files: {
    'config.inlist': '&controls\n  a = 0\n  b = 1\n/\n',
    'run.sbatch': '#!/bin/bash\na=$(awk \'$1 == "a" { print $3 }\' config.inlist); b=$(awk \'$1 == "b" { print $3 }\' config.inlist)\nawk -v a="$a" -v b="$b" \'BEGIN { printf "{\\"y\\": %.10g, \\"z\\": %.10g}\\n", a * b, a - b }\' > out.json\n',
  } });
  await writeFile(join(g.work, 'sweep.json'), JSON.stringify({
    name: 'smp', branch: 'main', patcher: { type: 'mesa', file: 'config.inlist' },
    sampler: { type: 'random', budget: 24, seed: 3, bounds: { a: [0, 1], b: { lo: 1, hi: 5000, scale: 'log' } } },
    parse: { file: 'out.json', parser: 'json' }, remote: { host: 'local' },
  }));
  await g.commit('sweep');
  await rxJson(['submit', '--sweep', 'sweep.json'], { cwd: g.work });
  await eventually('all finished', 120_000, async () => {
    const rows = await rxJson<{ state: string }[]>(['status'], { cwd: g.work });
    return rows.length === 24 && rows.every(r => final(r.state)) ? true : undefined;
  });
  const bad = await rx(['report', '--x', 'a'], { cwd: g.work, allowFailure: true });
  assert.notEqual(bad.exitCode, 0);
  assert.match(bad.stderr, /--x and --y choose the columns of the tracks: give --rows/);
  const out = join(g.root, 'pages', 'smp.html');
  const [s] = await rxJson<{ file: string; layout: string; results: string[] }[]>(['report', '--sweep', 'smp', '--out', out], { cwd: g.work });
  assert.equal(s!.file, out);
  assert.equal(s!.layout, 'scatter');
  const ds = (await rxJson<{ file: string }[]>(['dataset', '--sweep', 'smp', '--format', 'jsonl', '--offline'], { cwd: g.work }))[0]!.file;
  const rows = (await readFile(ds, 'utf8')).trim().split('\n').map(l => JSON.parse(l) as Row);
  const r5 = rows[5]!;
  await checkPage(browser, out, join(OUTPUT, 'report-local-sampled.png'), {
    runs: 24, layout: 'scatter', results: ['y', 'z'],
    hover: [5, [`run ${r5.key}`, `a = `, `b = `]],
  });
});
