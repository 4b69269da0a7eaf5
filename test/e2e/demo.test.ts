// The README's first command, `npm run demo` (= `rx demo`): the quickstart sweep end to end on the
// embedded default, through the compiled CLI as a user runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { rx } from '../helpers/rx.ts';

test('rx demo runs the quickstart sweep to six COMPLETED runs and a dataset', { timeout: 240_000 }, async t => {
  const root = await mkdtemp(join(tmpdir(), 'rx-demo-test-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'demo');
  const r = await rx(['demo', '--dir', dir], { cwd: root });
  assert.match(r.stdout, /demo: rx submit --sweep sweep\.ts\n.*quickstart.*6 submitted, 0 skipped on local/);
  assert.match(r.stdout, /COMPLETED 6/);
  assert.match(r.stdout, /demo: all 6 runs COMPLETED/);
  const csv = (await readFile(join(dir, 'quickstart/.rx/datasets/quickstart.csv'), 'utf8')).trim().split('\n');
  assert.equal(csv.length, 7, 'a header and one row per run');
  assert.ok(csv[0]!.split(',').includes('log_L_max'), 'parsed results are columns');
});
