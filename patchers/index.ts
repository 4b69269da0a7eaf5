// The `patchers` namespace: `import { patchers } from 'remote-experiments'`.
// Each patcher is a pure function (file text, values, options?) → new text.
import { mesa, mesaHas, mesaCanAdd, fortranLiteral, MesaPatchError, type MesaPatchOptions } from './mesa.ts';
import { template, templateHas, templatePlaceholders, type TemplateOptions } from './template.ts';
import { json, jsonHas, type JsonPatchOptions } from './json.ts';
import { yaml, yamlHas, type YamlPatchOptions } from './yaml.ts';
import { keyvalue, keyvalueHas, type KeyValuePatchOptions } from './keyvalue.ts';
import { sbatch, sbatchHas, type SbatchPatchOptions } from './sbatch.ts';
import { PatchError, type PatchOptions, type Values } from './errors.ts';

export { PatchError, MesaPatchError, fortranLiteral, templatePlaceholders };
export type { PatchOptions, Values, MesaPatchOptions, TemplateOptions, JsonPatchOptions, YamlPatchOptions, KeyValuePatchOptions, SbatchPatchOptions };

export type PatcherType = 'mesa' | 'template' | 'json' | 'yaml' | 'keyvalue' | 'sbatch';

export interface PatcherImpl {
  patch: (text: string, values: Values, opts?: Record<string, unknown>) => string;
  /** Whether the file has a place for the parameter (without `add`). */
  has: (text: string, key: string, opts?: Record<string, unknown>) => boolean;
  /** With `add: true`: whether the parameter can be inserted (default: always). */
  canAdd?: (text: string, key: string, opts?: Record<string, unknown>) => boolean;
  /** Options the sweep file may give besides type, file, keys and prefix. */
  options: readonly string[];
}

/** Every built-in patcher, with its probe and options (used by src/patch.ts). */
export const PATCHERS: Record<PatcherType, PatcherImpl> = {
  mesa: { patch: mesa as PatcherImpl['patch'], has: mesaHas as PatcherImpl['has'], canAdd: mesaCanAdd as PatcherImpl['canAdd'], options: ['add', 'exponent'] },
  template: { patch: template as PatcherImpl['patch'], has: templateHas as PatcherImpl['has'], options: [] },
  json: { patch: json as PatcherImpl['patch'], has: jsonHas as PatcherImpl['has'], options: ['add'] },
  yaml: { patch: yaml as PatcherImpl['patch'], has: yamlHas as PatcherImpl['has'], options: ['add'] },
  keyvalue: { patch: keyvalue as PatcherImpl['patch'], has: keyvalueHas as PatcherImpl['has'], options: ['add'] },
  sbatch: { patch: sbatch as PatcherImpl['patch'], has: sbatchHas as PatcherImpl['has'], options: ['add'] },
};

export const patchers = { mesa, template, json, yaml, keyvalue, sbatch };

export { mesa, template, json, yaml, keyvalue, sbatch };
