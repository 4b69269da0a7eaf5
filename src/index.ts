// What sweep files and scripts import from 'remote-experiments'.
export { defineSweep } from './sweep.ts';
export type { SweepDefinition, RemoteConfig } from './sweep.ts';
export type { BuiltinPatcher, PatcherFn, PatcherSpec } from './patch.ts';
export type { Params, Point } from './points.ts';
export { expandDimensions } from './points.ts';
export { paramHash, canonicalJson } from './hash.ts';
export { RxError, ConfigError, CommandError, ConnectionError, StateError } from './errors.ts';
export { submit } from './commands/submit.ts';
export { status } from './commands/status.ts';
export { show } from './commands/show.ts';
import { mesa } from '../patchers/mesa.ts';
export const patchers = { mesa };
