// Sweep files several end-to-end tests share.

/**
 * The quickstart sweep on a cluster: 3 masses × 2 metallicities of examples/quickstart, `remote`
 * given as TypeScript source (an object literal or JSON).
 */
export function onslurmSweep(remote: string): string {
  return `
    import { defineSweep } from 'remote-experiments';
    export default defineSweep({
      name: 'onslurm',
      branch: 'main',
      base_config: { n_steps: 12 },
      dimensions: { initial_mass: [0.8, 1.0, 1.5], initial_z: [0.01, 0.02] },
      patcher: { type: 'mesa', file: 'inlist' },
      remote: ${remote},
    });`;
}

/** A keyvalue sweep `pk` over x = 0…n-1 (params.sh), `remote` as given (through the cluster session's remote() when there is one). */
export function packSweep(n: number, remote: Record<string, unknown>): string {
  return `
    import { defineSweep } from 'remote-experiments';
    export default defineSweep({
      name: 'pk', branch: 'main',
      dimensions: { x: ${JSON.stringify(Array.from({ length: n }, (_, i) => i))} },
      patcher: { type: 'keyvalue', file: 'params.sh' },
      remote: ${JSON.stringify(remote)},
    });`;
}
