import { defineSweep } from 'remote-experiments';

// Stage 1 of a chain (stage 2 is evolve.sweep.ts): per mass and metallicity, a pre-main-sequence
// model evolved to the zero-age main sequence and saved as zams.mod in its run directory.
// Run both: rx run --sweep zams.sweep.ts --sweep evolve.sweep.ts
export default defineSweep({
  name: 'zams',
  branch: 'main',
  base_config: {
    create_pre_main_sequence_model: true,
    // stop near the ZAMS: when nuclear burning gives 99% of the luminosity
    stop_near_zams: true,
    Lnuc_div_L_zams_limit: 0.99,
    save_model_when_terminate: true,
    save_model_filename: 'zams.mod',
    // batch jobs: no plot windows, nobody to press Enter at the end
    pgstar_flag: false,
    pause_before_terminate: false,
  },
  dimensions: {
    initial_mass: [1.0, 1.5, 2.0, 3.0, 5.0],
    initial_z: [0.006, 0.014, 0.02],
  },
  patcher: { type: 'mesa', file: 'inlist_project' },
  // Without `remote` both stages run on this machine (the embedded shell scheduler).
  remote: {
    host: 'mycluster',                 // a Host alias from ~/.ssh/config
    repo: '~/rx/mesa-work',            // clone of origin on the cluster (made if missing)
    output: '/scratch/$USER/runs'.replace('$USER', process.env.USER ?? 'me'),
    sbatchArgs: ['--partition=standard'],
  },
});
