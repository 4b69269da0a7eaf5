// The report as one self-contained HTML file: uPlot (its minified IIFE and CSS, read from
// node_modules when the report is made), the page script (./client.ts) and the data as JSON, all
// inline. A Content-Security-Policy forbids any request, so the page works from disk, offline.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ReportData } from './shape.ts';
import { CLIENT_JS } from './client.ts';

const require = createRequire(import.meta.url);

let uplot: { js: string; css: string } | undefined;

/** uPlot's browser build, read once per process. */
export function uplotAssets(): { js: string; css: string } {
  uplot ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return uplot;
}

/** JSON inside <script>: `<` escaped so no `</script>` or `<!--` in the data can end the element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Code inside <script>: a literal `</script` (in a string of a library) must not end the element. */
export function scriptCode(code: string): string {
  return code.replace(/<\/script/gi, '<\\/script');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

// Colours as variables: light by default, dark under prefers-color-scheme, light again on paper.
const CSS = `
:root { --bg: #ffffff; --fg: #1d1d1f; --muted: #6b6b70; --grid: rgba(0,0,0,0.09); --line: #d8d8dc; --head: #f4f4f6; --accent: #0072B2; color-scheme: light dark; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #17181b; --fg: #e6e6e9; --muted: #9a9aa2; --grid: rgba(255,255,255,0.10); --line: #34353a; --head: #222327; --accent: #56B4E9; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1180px; padding: 16px 20px 40px; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 22px; margin: 4px 0 10px; } h2 { font-size: 17px; margin: 28px 0 6px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
.muted, .note { color: var(--muted); } .note { margin: 2px 0 8px; }
dl#meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; } dl#meta dt { color: var(--muted); } dl#meta dd { margin: 0; }
.chip { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin: 0 4px 0 8px; vertical-align: -1px; border: 1px solid rgba(127,127,127,0.5); }
.ramp { display: inline-block; width: 120px; height: 10px; vertical-align: middle; border-radius: 2px; }
.legend { margin: 4px 0; } .controls { margin: 6px 0; display: flex; gap: 14px; align-items: center; flex-wrap: wrap; }
select, input, button { font: inherit; color: var(--fg); background: var(--head); border: 1px solid var(--line); border-radius: 4px; padding: 2px 6px; }
button { cursor: pointer; } button:disabled { opacity: 0.4; cursor: default; }
.grid-plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 10px 18px; }
figure.plot { margin: 0; min-height: 330px; } figcaption { font-weight: 600; margin: 6px 0 2px; }
.chart { min-height: 160px; }
.uplot .u-select { background: rgba(86,180,233,0.18); }
#tip { position: fixed; z-index: 10; pointer-events: none; max-width: 420px; background: var(--bg); color: var(--fg); border: 1px solid var(--line); border-radius: 5px; padding: 6px 8px; font-size: 12.5px; box-shadow: 0 2px 10px rgba(0,0,0,0.25); overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 4px; }
table#table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
#table th { position: sticky; top: 0; background: var(--head); text-align: left; cursor: pointer; white-space: nowrap; padding: 4px 8px; border-bottom: 1px solid var(--line); }
#table th.param { color: var(--accent); } #table th.result { font-style: italic; }
#table td { padding: 3px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; max-width: 360px; overflow: hidden; text-overflow: ellipsis; }
#table .num { text-align: right; font-variant-numeric: tabular-nums; }
#table tbody tr:hover { background: var(--head); }
button.sha { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; padding: 0 4px; color: var(--accent); }
dialog { max-width: min(900px, 92vw); background: var(--bg); color: var(--fg); border: 1px solid var(--line); border-radius: 6px; }
dialog::backdrop { background: rgba(0,0,0,0.4); } pre.cmd { background: var(--head); padding: 6px 8px; border-radius: 4px; user-select: all; }
table.kv th { text-align: left; color: var(--muted); padding-right: 12px; font-weight: normal; } table.kv td { overflow-wrap: anywhere; }
@media print {
  :root { --bg: #fff; --fg: #000; --muted: #555; --grid: rgba(0,0,0,0.12); --line: #bbb; --head: #eee; --accent: #0072B2; color-scheme: light; }
  body { max-width: none; padding: 0; } .controls input, .pager, #tip, dialog, button.sha { box-shadow: none; }
  .pager, #filter, #tip { display: none !important; } h2 { break-after: avoid; } figure.plot, .chart { break-inside: avoid; }
  .table-wrap { overflow: visible; border: 0; } #table td { max-width: none; white-space: normal; }
}
`;

/** The page. */
export function reportHtml(data: ReportData): string {
  const { js, css } = uplotAssets();
  const title = `rx report — ${data.meta.sweep}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="rx (remote-experiments) ${escapeHtml(data.meta.rx)}">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>${css}</style>
<style>${CSS}</style>
</head>
<body>
<h1 id="title">${escapeHtml(title)}</h1>
<dl id="meta"></dl>
<details id="fixed" hidden><summary>Fixed parameters (the same in every run)</summary><p id="fixed-list"></p></details>

<h2>State map</h2>
<p class="note" id="map-note"></p>
<div class="legend" id="map-legend"></div>
<div class="chart" id="map"></div>

<h2>Results vs parameters</h2>
<div class="controls" id="results-controls"><label>x <select id="res-x"></select></label><label>colour <select id="res-color"></select></label><span class="legend" id="res-legend"></span></div>
<div class="grid-plots" id="results"></div>

<section id="tracks-section" hidden>
<h2 id="tracks-title">Tracks</h2>
<p class="note" id="tracks-note"></p>
<div class="controls"><label>colour <select id="trk-color"></select></label><span class="legend" id="trk-legend"></span></div>
<div class="chart" id="tracks"></div>
</section>

<h2>Experiments</h2>
<p class="note">Click a column to sort; click a short sha for the commands that show its diff. The same rows as <code>rx dataset</code>.</p>
<div class="controls pager"><input id="filter" type="search" placeholder="filter rows…" aria-label="filter rows"><button id="prev">‹ previous</button><button id="next">next ›</button><span id="page-info" class="muted"></span></div>
<div class="table-wrap"><table id="table"></table></div>

<div id="tip" hidden></div>
<dialog id="run-dialog"><form method="dialog" style="text-align:right"><button>close</button></form><div id="run-body"></div></dialog>
<script id="rx-data" type="application/json">${scriptJson(data)}</script>
<script>${scriptCode(js)}</script>
<script>${scriptCode(CLIENT_JS)}</script>
</body>
</html>
`;
}
