// What sweep files and scripts import from 'remote-experiments'.
export { defineSweep } from './sweep.ts';
export type { SweepDefinition, RemoteConfig } from './sweep.ts';
export type { BuiltinPatcher, PatcherFn, PatcherSpec, CustomTextPatcher } from './patch.ts';
export type { Params, Point } from './points.ts';
export { expandDimensions } from './points.ts';
export { paramHash, canonicalJson } from './hash.ts';
export { RxError, ConfigError, CommandError, ConnectionError, StateError } from './errors.ts';
export { submit } from './commands/submit.ts';
export { status } from './commands/status.ts';
export { show } from './commands/show.ts';
export { patchers, PatchError } from '../patchers/index.ts';
export type { PatcherType, PatchOptions, MesaPatchOptions, TemplateOptions, JsonPatchOptions, YamlPatchOptions, KeyValuePatchOptions, SbatchPatchOptions } from '../patchers/index.ts';
export { parsers, ParseError, MesaData } from '../parsers/index.ts';
export type { ParserName, ParseOptions, MesaDataOptions, MesaRow, InlistValue, NamelistDetails, CsvOptions, CsvTable, CsvValue, JsonValue, KeyValue, SlurmOut, SlurmOutOptions } from '../parsers/index.ts';
