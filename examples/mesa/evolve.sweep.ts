import { defineSweep } from 'remote-experiments';

// Stage 2 of the chain: every ZAMS model of zams.sweep.ts evolved to the end of core hydrogen
// burning, once per mixing length. Each run waits for its own ZAMS run (a Slurm dependency) and
// finds that run directory through the symlink `prev`, so it loads prev/zams.mod. Its parameters
// are the ZAMS run's (initial_mass, initial_z, ...) overlaid with these: these win.
export default defineSweep({
  name: 'evolve',
  branch: 'main',
  after: { sweep: 'zams' },            // link: 'prev' (the default)
  base_config: {
    // undo stage 1's settings, which the chained points inherit
    create_pre_main_sequence_model: false,
    stop_near_zams: false,
    save_model_when_terminate: false,
    load_saved_model: true,
    load_model_filename: 'prev/zams.mod',
    // stop at the end of core hydrogen burning
    'xa_central_lower_limit(1)': 1e-4,
  },
  dimensions: {
    mixing_length_alpha: [1.6, 2.0],
  },
  patcher: { type: 'mesa', file: 'inlist_project' },
  // What `rx dataset --sweep evolve` reads from each run.
  parse: {
    file: 'LOGS/history.data',
    reduce: [{ last: ['star_age', 'star_mass', 'log_L', 'log_Teff', 'center_h1'] }],
  },
  // The same cluster as zams.sweep.ts: a chain runs where its source ran.
  remote: {
    host: 'mycluster',
    repo: '~/rx/mesa-work',
    output: '/scratch/$USER/runs'.replace('$USER', process.env.USER ?? 'me'),
    sbatchArgs: ['--partition=standard'],
  },
});
