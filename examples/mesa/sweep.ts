import { defineSweep } from 'remote-experiments';

// Masses x metallicities on a cluster. Each point is one commit patching inlist_project on top
// of the `main` branch of your MESA work directory repository.
export default defineSweep({
  name: 'mass_z_grid',
  branch: 'main',
  base_config: {
    // Applied to every run: stop at the end of core hydrogen burning.
    'xa_central_lower_limit(1)': 1e-4,
  },
  dimensions: {
    initial_mass: [1.0, 1.5, 2.0, 3.0, 5.0],
    initial_z: [0.006, 0.014, 0.02],
    // Varied together: a tuple per value.
    'x_logical_ctrl(1),pgstar_flag': [[true, false], [false, false]],
  },
  patcher: { type: 'mesa', file: 'inlist_project' },
  remote: {
    host: 'mycluster',                 // a Host alias from ~/.ssh/config
    repo: '~/rx/mesa-work',            // clone of origin on the cluster (made if missing)
    output: '/scratch/$USER/runs'.replace('$USER', process.env.USER ?? 'me'),
    sbatchArgs: ['--partition=standard'],
  },
});
