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
  // No `remote`: the embedded default (this machine, shell scheduler, runs under .rx/runs/).
});
