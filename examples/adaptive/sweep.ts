import { defineSweep, strategies } from 'remote-experiments';

// An adaptive sweep: `rx run --sweep sweep.ts` asks the strategy for 4 points per round, runs them,
// reads `above` from each run's result.json, and asks again, until 14 points have run or the
// boundary is bracketed to 1% of the range.
export default defineSweep({
  name: 'adaptive',
  branch: 'main',
  patcher: { type: 'keyvalue', file: 'params.sh' },
  parse: { file: 'result.json', parser: 'json' },
  budget: 14,
  batch: 4,
  propose: strategies.boundary({ result: 'above', bounds: { x: [0, 1] }, tolerance: 0.01 }),
  // No `remote`: the embedded default (this machine). For a cluster, e.g.:
  // remote: { host: 'mycluster', repo: '~/rx/adaptive', output: '~/runs' },
});
