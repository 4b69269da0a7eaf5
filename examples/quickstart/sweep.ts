import { defineSweep } from 'remote-experiments';

// 3 masses x 2 metallicities = 6 runs, each one commit patching `inlist`.
export default defineSweep({
  name: 'quickstart',
  branch: 'main',
  base_config: { n_steps: 30 },
  dimensions: {
    initial_mass: [0.8, 1.0, 1.5],
    initial_z: [0.01, 0.02],
  },
  patcher: { type: 'mesa', file: 'inlist' },
  // What `rx dataset` reads from each run: the last row's age and luminosity, and the peak luminosity.
  parse: { file: 'history.data', parser: 'mesaHistory', reduce: [{ last: ['star_age', 'log_L'] }, { max: ['log_L'] }] },
  // No `remote`: the embedded default (this machine, shell scheduler, runs under .rx/runs/).
});
