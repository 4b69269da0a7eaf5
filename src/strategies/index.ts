// Adaptive strategies for `rx run`: each returns a `propose` function that turns the dataset rows
// so far into the next points. Exported as `strategies` from 'remote-experiments'.
import { boundary } from './boundary.ts';
import { uncertainty } from './uncertainty.ts';

export const strategies = { boundary, uncertainty };
export type { BoundaryOptions } from './boundary.ts';
export type { UncertaintyOptions } from './uncertainty.ts';
export type { Propose, ProposeContext, ResultSpec, StrategyRow } from './propose.ts';
export type { Kernel } from './gp.ts';
