// The report page's own script, inlined into the HTML next to uPlot and the data. Plain ES2020 kept
// as text (the page has no build step and rx ships no browser bundle); test/unit/report-html.test.ts
// compiles it to catch syntax errors. It reads the JSON in <script id="rx-data">, draws with uPlot
// (axes, scales, drag-to-zoom, double-click to reset) and its own canvas marks (one path per colour,
// so 10,000 runs draw in milliseconds), and builds the table a page at a time.
// No template literals inside (this file holds the script in one): strings are concatenated.

export const CLIENT_JS = String.raw`
(function () {
'use strict';
var D = JSON.parse(document.getElementById('rx-data').textContent);
var N = D.meta.runs;
var COL = {};
D.columns.forEach(function (c, i) { COL[c.name] = D.data[i]; });
var VARIED = {};
D.varied.forEach(function (v) { VARIED[v.name] = v; });
var api = { ready: false, charts: {}, renderAll: renderAll, markPosition: markPosition };
window.rxReport = api;

// Okabe & Ito (2008), safe for the common colour-vision deficiencies; grey for runs not (yet) run.
var OKABE = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7', '#999999'];
var STATE_COLORS = {
  COMPLETED: '#009E73', RUNNING: '#56B4E9', COMPLETING: '#56B4E9', PENDING: '#999999', UNSUBMITTED: '#cfcfcf',
  FAILED: '#D55E00', TIMEOUT: '#E69F00', OUT_OF_MEMORY: '#CC79A7', CANCELLED: '#0072B2', NODE_FAIL: '#CC79A7',
  PREEMPTED: '#0072B2', SUBMIT_FAILED: '#D55E00', UNKNOWN: '#F0E442', SUSPENDED: '#999999', REQUEUED: '#999999'
};
function stateColor(s) { return STATE_COLORS[String(s).split(' ')[0]] || '#999999'; }
// viridis, 9 stops: perceptually even and readable in grey.
var VIRIDIS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'];
function viridis(t) {
  if (!(t >= 0)) t = 0; if (t > 1) t = 1;
  var f = t * (VIRIDIS.length - 1), i = Math.min(VIRIDIS.length - 2, Math.floor(f)), r = f - i;
  var a = hex(VIRIDIS[i]), b = hex(VIRIDIS[i + 1]);
  return 'rgb(' + [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * r); }).join(',') + ')';
}
function hex(h) { return [1, 3, 5].map(function (k) { return parseInt(h.slice(k, k + 2), 16); }); }

function $(id) { return document.getElementById(id); }
function esc(s) {
  return String(s).replace(/[&<>"']/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]; });
}
function text(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return fmt(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
function fmt(v) {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  var a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(4).replace(/\.?0+e/, 'e') : String(Number(v.toPrecision(6)));
}
function num(v) { return typeof v === 'number' && isFinite(v) ? v : NaN; }
function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

// ---- tooltip ---------------------------------------------------------------------------------
var tip = $('tip');
function runTip(i) {
  var s = COL.state[i];
  var lines = ['<b>run ' + esc(COL.key[i]) + '</b> <span class="chip" style="background:' + stateColor(s) + '"></span>' + esc(s)];
  D.varied.forEach(function (v) { lines.push(esc(v.name) + ' = ' + esc(text(COL[v.name][i]))); });
  if (COL.job_id[i]) lines.push('job ' + esc(COL.job_id[i]) + (COL.exit_code[i] !== null ? ', exit ' + esc(COL.exit_code[i]) : ''));
  if (D.reasons[i]) lines.push('reason: ' + esc(D.reasons[i]));
  if (COL.dir[i]) lines.push('<span class="muted">' + esc(COL.dir[i]) + '</span>');
  if (COL.notes && COL.notes[i]) lines.push('<span class="muted">' + esc(COL.notes[i]) + '</span>');
  return lines.join('<br>');
}
function showTip(html, x, y) {
  tip.innerHTML = html;
  tip.hidden = false;
  var w = tip.offsetWidth, h = tip.offsetHeight;
  var left = x + 14 + w > window.innerWidth ? x - 14 - w : x + 14;
  var top = y + 14 + h > window.innerHeight ? y - 14 - h : y + 14;
  tip.style.left = Math.max(0, left) + 'px';
  tip.style.top = Math.max(0, top) + 'px';
}
function hideTip() { tip.hidden = true; }

// ---- axes and charts -------------------------------------------------------------------------
// An axis: a varied parameter (category: by level; linear/log: by value), or the run number.
function axisOf(name) {
  if (name === null) return { label: 'run', scale: 'linear', value: function (i) { return Number(COL.key[i]); } };
  var v = VARIED[name];
  if (v && v.scale === 'category') return { label: name, scale: 'category', labels: v.type === 'number' ? v.labels.map(function (l) { return fmt(Number(l)); }) : v.labels, value: function (i) { return v.codes[i] < 0 ? NaN : v.codes[i]; } };
  var c = COL[name];
  return { label: name, scale: v ? v.scale : 'linear', value: function (i) { return num(c[i]); } };
}
function extent(axis, values) {
  if (axis.scale === 'category') return [-0.5, axis.labels.length - 0.5];
  var lo = Infinity, hi = -Infinity;
  for (var i = 0; i < values.length; i++) {
    var v = values[i];
    if (!isFinite(v) || (axis.scale === 'log' && v <= 0)) continue;
    if (v < lo) lo = v; if (v > hi) hi = v;
  }
  if (lo === Infinity) return axis.scale === 'log' ? [1, 10] : [0, 1];
  if (axis.scale === 'log') return [lo / 1.25, hi * 1.25];
  if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.1, hi + (Math.abs(hi) || 1) * 0.1];
  var pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}
function axisOpts(axis, isY) {
  var fg = cssVar('--fg'), grid = cssVar('--grid');
  var o = { label: axis.label, stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, labelFont: 'bold 12px system-ui, sans-serif', font: '11px system-ui, sans-serif' };
  if (axis.scale === 'category') {
    var labels = axis.labels;
    o.splits = function (u) {
      var sc = u.scales[isY ? 'y' : 'x'], lo = Math.max(0, Math.ceil(sc.min)), hi = Math.min(labels.length - 1, Math.floor(sc.max));
      var step = Math.max(1, Math.ceil((hi - lo + 1) / (isY ? 16 : 12))), out = [];
      for (var k = lo; k <= hi; k += step) out.push(k);
      return out;
    };
    o.values = function (u, splits) { return splits.map(function (k) { var t = labels[k] || ''; return t.length > 14 ? t.slice(0, 13) + '…' : t; }); };
    o.grid.show = false;
  } else {
    // Log axes: uPlot gives every minor tick; label the decades only (or all when under two decades).
    o.values = function (u, splits) {
      var decades = splits.filter(function (v) { return v > 0 && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9; });
      return splits.map(function (v) {
        if (v === null || v === undefined) return '';
        if (axis.scale === 'log' && decades.length >= 2 && decades.indexOf(v) < 0) return '';
        return fmt(v);
      });
    };
  }
  if (isY) o.size = 64;
  return o;
}
function scaleOpts(axis) {
  return { time: false, distr: axis.scale === 'log' ? 3 : 1, log: 10, range: function (u, mn, mx) { return [mn, mx]; } };
}

/**
 * A chart: uPlot for axes, scales and zoom; spec.draw(u) draws the marks and returns their pixel
 * positions for hover; spec.hit(u, x, y) finds the run under the cursor (canvas pixels).
 */
function makeChart(id, el, spec) {
  el.innerHTML = '';
  var width = Math.max(320, Math.min(el.clientWidth || 640, 1100));
  var state = { marks: 0 };
  var opts = {
    width: width, height: spec.height || 340, legend: { show: false },
    scales: { x: scaleOpts(spec.x), y: scaleOpts(spec.y) },
    axes: [axisOpts(spec.x, false), axisOpts(spec.y, true)],
    series: [{}, { stroke: 'transparent', points: { show: false }, paths: function () { return null; } }],
    cursor: { drag: { x: true, y: true, uni: 20 }, points: { show: false } },
    hooks: {
      draw: [function (u) {
        var ctx = u.ctx, b = u.bbox;
        ctx.save(); ctx.beginPath(); ctx.rect(b.left, b.top, b.width, b.height); ctx.clip();
        state.marks = spec.draw(u, ctx);
        ctx.restore();
        el.setAttribute('data-marks', String(state.marks));
      }],
      setCursor: [function (u) {
        var l = u.cursor.left, t = u.cursor.top;
        if (l === undefined || l < 0 || t < 0) { hideTip(); return; }
        var pr = uPlot.pxRatio, x = u.bbox.left + l * pr, y = u.bbox.top + t * pr;
        var hit = spec.hit(u, x, y);
        if (hit < 0) { hideTip(); return; }
        var r = u.over.getBoundingClientRect();
        showTip(spec.tip ? spec.tip(hit) : runTip(hit), r.left + l, r.top + t);
      }]
    }
  };
  var xs = extent(spec.x, spec.xv), ys = extent(spec.y, spec.yv);
  var u = new uPlot(opts, [[xs[0], xs[1]], [ys[0], ys[1]]], el);
  u.over.addEventListener('mouseleave', hideTip);
  var chart = { u: u, el: el, spec: spec, state: state };
  api.charts[id] = chart;
  return chart;
}

/** Nearest mark within 12 css pixels (linear scan: 10,000 distances are well under a millisecond). */
function nearest(px, py, x, y) {
  var best = -1, bd = Math.pow(12 * uPlot.pxRatio, 2);
  for (var i = 0; i < px.length; i++) {
    var dx = px[i] - x, dy = py[i] - y, d = dx * dx + dy * dy;
    if (d < bd) { bd = d; best = i; }
  }
  return best;
}

/** Client coordinates of run i's mark in a chart (for tests and for scrolling to a run). */
function markPosition(id, i) {
  var c = api.charts[id];
  if (!c || !c.spec.pos) return null;
  var p = c.spec.pos(i);
  if (!p) return null;
  var r = c.u.over.getBoundingClientRect(), pr = uPlot.pxRatio;
  return { x: r.left + (p[0] - c.u.bbox.left) / pr, y: r.top + (p[1] - c.u.bbox.top) / pr };
}

// Deterministic jitter for runs sharing a category position (scatter only).
function jitter(i) { var s = Math.sin(i * 12.9898) * 43758.5453; return (s - Math.floor(s) - 0.5) * 0.6; }

// ---- colours by a parameter ----------------------------------------------------------------------
function colorBy(name) {
  if (name === 'state') return { color: function (i) { return stateColor(COL.state[i]); }, legend: stateLegend() };
  var v = VARIED[name];
  if (v.labels.length <= OKABE.length && (v.scale === 'category' || v.labels.length <= 8)) {
    return {
      color: function (i) { return v.codes[i] < 0 ? '#999999' : OKABE[v.codes[i]]; },
      legend: v.labels.map(function (l, k) { return '<span class="chip" style="background:' + OKABE[k] + '"></span>' + esc(name) + ' = ' + esc(label(v, l)); }).join(' ')
    };
  }
  var vals = COL[name], lo = Infinity, hi = -Infinity, logv = v.scale === 'log';
  var f = function (i) {
    if (v.scale === 'category') return v.codes[i] / (v.labels.length - 1);
    var x = num(vals[i]); return logv ? Math.log(x) : x;
  };
  if (v.scale !== 'category') for (var i = 0; i < N; i++) { var t = f(i); if (isFinite(t)) { if (t < lo) lo = t; if (t > hi) hi = t; } }
  else { lo = 0; hi = 1; }
  var span = hi - lo || 1;
  var grad = 'linear-gradient(90deg,' + VIRIDIS.join(',') + ')';
  return {
    color: function (i) { var t = f(i); return isFinite(t) ? viridis((t - lo) / span) : '#999999'; },
    legend: esc(name) + ': ' + esc(label(v, v.labels[0])) + ' <span class="ramp" style="background:' + grad + '"></span> ' + esc(label(v, v.labels[v.labels.length - 1]))
  };
}
function label(v, l) { return v.type === 'number' ? fmt(Number(l)) : l; }
function stateLegend() {
  return D.meta.counts.map(function (c) { return '<span class="chip" style="background:' + stateColor(c[0]) + '"></span>' + esc(c[0]) + ' ' + c[1]; }).join(' ');
}

/** Fills squares of side s (canvas px) centred on the marks, one path per colour. */
function drawDots(ctx, px, py, colors, s) {
  var by = {};
  for (var i = 0; i < px.length; i++) {
    if (!isFinite(px[i]) || !isFinite(py[i])) continue;
    (by[colors[i]] = by[colors[i]] || []).push(i);
  }
  var n = 0;
  Object.keys(by).forEach(function (c) {
    ctx.beginPath();
    by[c].forEach(function (i) { ctx.moveTo(px[i] + s / 2, py[i]); ctx.arc(px[i], py[i], s / 2, 0, 2 * Math.PI); n++; });
    ctx.fillStyle = c; ctx.fill();
  });
  ctx.lineWidth = 0.5 * uPlot.pxRatio; ctx.strokeStyle = cssVar('--bg');
  if (px.length <= 3000) Object.keys(by).forEach(function (c) {
    ctx.beginPath();
    by[c].forEach(function (i) { ctx.moveTo(px[i] + s / 2, py[i]); ctx.arc(px[i], py[i], s / 2, 0, 2 * Math.PI); });
    ctx.stroke();
  });
  return n;
}
function dotSize() { return (N > 3000 ? 4 : N > 500 ? 6 : 9) * uPlot.pxRatio; }

// ---- state map ---------------------------------------------------------------------------------
function renderMap() {
  var L = D.layout, el = $('map');
  $('map-legend').innerHTML = stateLegend();
  if (L.kind === 'grid') return gridMap(el, L);
  var ax = axisOf(L.x), ay = axisOf(L.y);
  var xv = [], yv = [];
  for (var i = 0; i < N; i++) {
    xv.push(ax.value(i) + (ax.scale === 'category' ? jitter(i) : 0));
    yv.push(ay.value(i) + (ay.scale === 'category' ? jitter(i + 7) : 0));
  }
  var colors = COL.state.map(stateColor), px = [], py = [];
  $('map-note').textContent = 'A sampled sweep: one dot per run at its parameter values' + (D.varied.length > 2 ? '; the other varied parameters are in the hover.' : '.') + ' Drag to zoom, double-click to reset.';
  makeChart('map', el, {
    x: ax, y: ay, xv: xv, yv: yv, height: 380,
    draw: function (u, ctx) {
      for (var i = 0; i < N; i++) { px[i] = u.valToPos(xv[i], 'x', true); py[i] = u.valToPos(yv[i], 'y', true); }
      return drawDots(ctx, px, py, colors, dotSize());
    },
    hit: function (u, x, y) { return nearest(px, py, x, y); },
    pos: function (i) { return isFinite(px[i]) ? [px[i], py[i]] : null; }
  });
}

/** Grid: one cell per combination of the two axes' levels; runs sharing a cell split it into a small grid. */
function gridMap(el, L) {
  var ax = L.x === null ? { label: '', scale: 'category', labels: [''], value: function () { return 0; } } : axisOf(L.x);
  var ay = L.y === null ? { label: '', scale: 'category', labels: [''], value: function () { return 0; } } : axisOf(L.y);
  var cells = {}, slot = new Array(N), size = {};
  for (var i = 0; i < N; i++) {
    var k = ax.value(i) + ',' + ay.value(i);
    slot[i] = (cells[k] = (cells[k] || 0) + 1) - 1;
  }
  var most = 0;
  for (var c in cells) most = Math.max(most, cells[c]);
  var cols = Math.ceil(Math.sqrt(most)), rows = Math.ceil(most / cols);
  size.cols = cols; size.rows = rows;
  var others = D.varied.filter(function (v) { return v.name !== L.x && v.name !== L.y; }).map(function (v) { return v.name; });
  $('map-note').textContent = 'A grid sweep: one cell per value of ' + [L.x, L.y].filter(Boolean).join(' × ') +
    (most > 1 ? '; runs sharing a cell (' + (others.length ? 'other varied parameters: ' + others.join(', ') : 'repeats') + ') split it into up to ' + cols + ' × ' + rows + ', in run order' : '') + '. Drag to zoom, double-click to reset.';
  var rect = new Array(N), colors = COL.state.map(stateColor);
  var height = Math.max(240, Math.min(640, 60 + ay.labels.length * Math.max(14, 28 * rows)));
  makeChart('map', el, {
    x: ax, y: ay, xv: [], yv: [], height: L.y === null ? 160 : height,
    draw: function (u, ctx) {
      var n = 0, by = {};
      for (var i = 0; i < N; i++) {
        var cx = ax.value(i), cy = ay.value(i);
        if (!isFinite(cx) || !isFinite(cy)) { rect[i] = null; continue; }
        var x0 = u.valToPos(cx - 0.5, 'x', true), x1 = u.valToPos(cx + 0.5, 'x', true);
        var y0 = u.valToPos(cy + 0.5, 'y', true), y1 = u.valToPos(cy - 0.5, 'y', true);
        var w = (x1 - x0) / cols, h = (y1 - y0) / rows, s = slot[i];
        var gap = Math.min(w, h) > 6 ? 1 * uPlot.pxRatio : 0;
        var r = [x0 + (s % cols) * w + gap / 2, y0 + Math.floor(s / cols) * h + gap / 2, Math.max(0.5, w - gap), Math.max(0.5, h - gap)];
        rect[i] = r;
        (by[colors[i]] = by[colors[i]] || []).push(r);
        n++;
      }
      Object.keys(by).forEach(function (c) {
        ctx.beginPath();
        by[c].forEach(function (r) { ctx.rect(r[0], r[1], r[2], r[3]); });
        ctx.fillStyle = c; ctx.fill();
      });
      return n;
    },
    hit: function (u, x, y) {
      for (var i = 0; i < N; i++) { var r = rect[i]; if (r && x >= r[0] && x <= r[0] + r[2] && y >= r[1] && y <= r[1] + r[3]) return i; }
      return -1;
    },
    pos: function (i) { var r = rect[i]; return r ? [r[0] + r[2] / 2, r[1] + r[3] / 2] : null; }
  });
}

// ---- results vs parameters --------------------------------------------------------------------
var pending = [];
function lazy(el, render) {
  var job = { el: el, render: render, done: false };
  pending.push(job);
  if (!('IntersectionObserver' in window)) { run(job); return; }
  var io = new IntersectionObserver(function (es) {
    if (es.some(function (e) { return e.isIntersecting; })) { io.disconnect(); run(job); }
  }, { rootMargin: '300px' });
  io.observe(el);
  job.io = io;
}
function run(job) { if (!job.done) { job.done = true; job.render(); } }
function renderAll() { pending.forEach(function (j) { if (j.io) j.io.disconnect(); run(j); }); }

function options(sel, names, chosen) {
  sel.innerHTML = names.map(function (n) { return '<option' + (n === chosen ? ' selected' : '') + ' value="' + esc(n) + '">' + esc(n) + '</option>'; }).join('');
}

function renderResults() {
  var box = $('results');
  if (!D.results.length) { box.innerHTML = '<p class="muted">No numeric results: the sweep has no <code>parse</code> entries, or no run has produced them yet (see <code>rx dataset</code>).</p>'; $('results-controls').hidden = true; return; }
  var xs = D.varied.map(function (v) { return v.name; });
  var xSel = $('res-x'), cSel = $('res-color');
  options(xSel, xs.length ? xs : ['run'], xs[0] || 'run');
  options(cSel, ['state'].concat(xs), xs[1] || 'state');
  var draw = function () {
    pending = pending.filter(function (j) { return !j.el.closest('#results'); });
    box.innerHTML = '';
    var xName = xSel.value === 'run' ? null : xSel.value, color = colorBy(cSel.value);
    $('res-legend').innerHTML = color.legend;
    D.results.forEach(function (r) {
      var fig = document.createElement('figure');
      fig.className = 'plot';
      fig.innerHTML = '<figcaption>' + esc(r) + (xName ? ' vs ' + esc(xName) : ' by run') + '</figcaption><div class="chart" data-result="' + esc(r) + '"></div>';
      box.appendChild(fig);
      var el = fig.querySelector('.chart');
      lazy(el, function () { resultChart(el, r, xName, color); });
    });
  };
  xSel.onchange = draw; cSel.onchange = draw;
  draw();
}

function resultChart(el, r, xName, color) {
  var ax = axisOf(xName), ay = { label: r, scale: 'linear' };
  var yc = COL[r], xv = [], yv = [], colors = [], px = [], py = [];
  for (var i = 0; i < N; i++) { xv.push(ax.value(i)); yv.push(num(yc[i])); colors.push(color.color(i)); }
  // Lines through runs that differ only in x (a grid): one line per combination of the other parameters.
  var lines = null;
  if (D.layout.kind === 'grid' && xName !== null) {
    var groups = {};
    for (var j = 0; j < N; j++) {
      if (!isFinite(yv[j]) || !isFinite(xv[j])) continue;
      var key = D.varied.filter(function (v) { return v.name !== xName; }).map(function (v) { return v.codes[j]; }).join(',');
      (groups[key] = groups[key] || []).push(j);
    }
    var gs = Object.keys(groups).map(function (k) { return groups[k].sort(function (a, b) { return xv[a] - xv[b]; }); });
    if (gs.length <= 2000 && gs.some(function (g) { return g.length > 1; })) lines = gs;
  }
  makeChart('result:' + r, el, {
    x: ax, y: ay, xv: xv, yv: yv, height: 300,
    draw: function (u, ctx) {
      for (var i = 0; i < N; i++) { px[i] = isFinite(yv[i]) ? u.valToPos(xv[i], 'x', true) : NaN; py[i] = isFinite(yv[i]) ? u.valToPos(yv[i], 'y', true) : NaN; }
      if (lines) {
        ctx.lineWidth = 1.2 * uPlot.pxRatio; ctx.globalAlpha = 0.6;
        lines.forEach(function (g) {
          if (g.length < 2) return;
          ctx.beginPath(); ctx.strokeStyle = colors[g[0]];
          g.forEach(function (i, k) { if (k) ctx.lineTo(px[i], py[i]); else ctx.moveTo(px[i], py[i]); });
          ctx.stroke();
        });
        ctx.globalAlpha = 1;
      }
      return drawDots(ctx, px, py, colors, dotSize());
    },
    hit: function (u, x, y) { return nearest(px, py, x, y); },
    tip: function (i) { return esc(r) + ' = ' + esc(text(yc[i])) + '<br>' + runTip(i); },
    pos: function (i) { return isFinite(px[i]) ? [px[i], py[i]] : null; }
  });
}

// ---- tracks --------------------------------------------------------------------------------------
function renderTracks() {
  var T = D.tracks;
  if (!T) return;
  $('tracks-section').hidden = false;
  $('tracks-title').textContent = 'Tracks: ' + T.y + ' vs ' + T.x + ' (' + T.file + ')';
  var notes = [T.runs.length + ' runs with ' + T.file];
  if (T.missing) notes.push(T.missing + ' without it (not produced yet, or unreadable)');
  if (T.downsampled) notes.push(T.downsampled + ' tracks downsampled to at most ' + T.limit + ' points each (largest-triangle-three-buckets, which keeps turning points); rx dataset --rows has every row');
  $('tracks-note').textContent = notes.join('; ') + '.';
  var cSel = $('trk-color');
  var names = D.varied.map(function (v) { return v.name; });
  options(cSel, ['state'].concat(names), names[0] || 'state');
  var draw = function () {
    var color = colorBy(cSel.value);
    $('trk-legend').innerHTML = color.legend;
    var el = $('tracks');
    lazy(el, function () { trackChart(el, T, color); });
  };
  cSel.onchange = function () { pending = pending.filter(function (j) { return j.el.id !== 'tracks'; }); draw(); };
  draw();
}

function trackChart(el, T, color) {
  var ax = { label: T.x, scale: 'linear' }, ay = { label: T.y, scale: 'linear' };
  var allx = [], ally = [];
  T.runs.forEach(function (t) { Array.prototype.push.apply(allx, t.xs); Array.prototype.push.apply(ally, t.ys); });
  var px = new Float64Array(allx.length), py = new Float64Array(allx.length), owner = new Int32Array(allx.length);
  var k0 = 0;
  T.runs.forEach(function (t, r) { for (var k = 0; k < t.xs.length; k++) owner[k0 + k] = r; k0 += t.xs.length; });
  makeChart('tracks', el, {
    x: ax, y: ay, xv: allx, yv: ally, height: 420,
    draw: function (u, ctx) {
      ctx.lineWidth = 1 * uPlot.pxRatio; ctx.globalAlpha = T.runs.length > 500 ? 0.5 : 0.85;
      var k = 0, n = 0;
      T.runs.forEach(function (t) {
        ctx.beginPath(); ctx.strokeStyle = color.color(t.run);
        for (var j = 0; j < t.xs.length; j++, k++) {
          var x = u.valToPos(t.xs[j], 'x', true), y = u.valToPos(t.ys[j], 'y', true);
          px[k] = x; py[k] = y;
          if (j) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        }
        ctx.stroke(); n++;
      });
      ctx.globalAlpha = 1;
      return n;
    },
    hit: function (u, x, y) { var k = nearest(px, py, x, y); return k < 0 ? -1 : owner[k]; },
    tip: function (r) { var t = T.runs[r]; return T.file + ': ' + t.rows + ' rows<br>' + runTip(t.run); },
    pos: function (r) { var k = 0; for (var q = 0; q < r; q++) k += T.runs[q].xs.length; return T.runs[r] && T.runs[r].xs.length ? [px[k], py[k]] : null; }
  });
}

// ---- table -----------------------------------------------------------------------------------
var PAGE = 100;
var table = { order: null, page: 0, sortCol: null, dir: 1, filter: '', texts: null };
function sortedOrder() {
  var idx = [];
  var f = table.filter.toLowerCase();
  if (f && !table.texts) table.texts = rowTexts();
  for (var i = 0; i < N; i++) if (!f || table.texts[i].indexOf(f) >= 0) idx.push(i);
  if (table.sortCol !== null) {
    var c = COL[table.sortCol], d = table.dir;
    idx.sort(function (a, b) {
      var x = c[a], y = c[b];
      if (x === null || x === undefined) return (y === null || y === undefined) ? a - b : 1;
      if (y === null || y === undefined) return -1;
      if (typeof x === 'number' && typeof y === 'number') return (x - y) * d || a - b;
      var nx = Number(x), ny = Number(y);
      if (table.sortCol === 'key' || (!isNaN(nx) && !isNaN(ny) && x !== '' && y !== '')) return (nx - ny) * d || a - b;
      return String(x).localeCompare(String(y)) * d || a - b;
    });
  }
  return idx;
}
function rowTexts() {
  var out = [];
  for (var i = 0; i < N; i++) out.push(D.columns.map(function (c) { return text(COL[c.name][i]); }).join('\u0001').toLowerCase());
  return out;
}
function cell(name, i) {
  var v = COL[name][i];
  if (name === 'sha' && v) return '<button class="sha" data-run="' + i + '" title="how to see this run\'s diff">' + esc(String(v).slice(0, 8)) + '</button>';
  if (name === 'state') return '<span class="chip" style="background:' + stateColor(v) + '"></span>' + esc(v);
  if (name === 'dir' && v) return '<span class="muted" title="' + esc(v) + '">' + esc(String(v).split('/').pop()) + '</span>';
  return esc(text(v));
}
function renderTable(all) {
  table.order = sortedOrder();
  var total = table.order.length, pages = Math.max(1, Math.ceil(total / PAGE));
  if (table.page >= pages) table.page = pages - 1;
  var from = all ? 0 : table.page * PAGE, to = all ? total : Math.min(total, from + PAGE);
  var head = '<tr>' + D.columns.map(function (c) {
    var mark = table.sortCol === c.name ? (table.dir > 0 ? ' ▲' : ' ▼') : '';
    return '<th data-col="' + esc(c.name) + '" class="' + c.kind + (c.type === 'number' ? ' num' : '') + '" title="' + c.kind + '; click to sort">' + esc(c.name) + mark + '</th>';
  }).join('') + '</tr>';
  var body = [];
  for (var k = from; k < to; k++) {
    var i = table.order[k];
    body.push('<tr data-run="' + i + '">' + D.columns.map(function (c) { return '<td' + (c.type === 'number' ? ' class="num"' : '') + '>' + cell(c.name, i) + '</td>'; }).join('') + '</tr>');
  }
  $('table').innerHTML = '<thead>' + head + '</thead><tbody>' + body.join('') + '</tbody>';
  $('table').setAttribute('data-total', String(total));
  $('page-info').textContent = total ? 'rows ' + (from + 1) + '–' + to + ' of ' + total + (total < N ? ' (filtered from ' + N + ')' : '') : 'no rows match';
  $('prev').disabled = all || table.page === 0;
  $('next').disabled = all || table.page >= pages - 1;
}
function setupTable() {
  $('table').addEventListener('click', function (e) {
    var th = e.target.closest('th');
    if (th) {
      var c = th.getAttribute('data-col');
      if (table.sortCol === c) table.dir = -table.dir; else { table.sortCol = c; table.dir = 1; }
      renderTable(); return;
    }
    var b = e.target.closest('button.sha');
    if (b) showRun(Number(b.getAttribute('data-run')));
  });
  $('prev').onclick = function () { table.page--; renderTable(); };
  $('next').onclick = function () { table.page++; renderTable(); };
  var t = null;
  $('filter').oninput = function (e) { clearTimeout(t); t = setTimeout(function () { table.filter = e.target.value.trim(); table.page = 0; renderTable(); }, 150); };
  renderTable();
}

// The diff of a run is its commit: base + the patch of its parameters. Inlining 10,000 diffs would
// make the page huge, so the popup shows what the commit changes and the commands that show it.
function showRun(i) {
  var sha = COL.sha[i], dlg = $('run-dialog');
  var rows = D.columns.map(function (c) { return '<tr><th>' + esc(c.name) + '</th><td>' + esc(text(COL[c.name][i])) + '</td></tr>'; }).join('');
  var changed = D.varied.map(function (v) { return esc(v.name) + ' = ' + esc(text(COL[v.name][i])); }).join(', ');
  $('run-body').innerHTML = '<h3>run ' + esc(COL.key[i]) + '</h3>' +
    '<p>Commit <code>' + esc(sha) + '</code> on base <code>' + esc((D.meta.base || '').slice(0, 12)) + '</code> sets ' + (changed || 'the sweep\'s fixed parameters') + '. Its full diff:</p>' +
    '<pre class="cmd">rx show ' + esc(sha) + '</pre><pre class="cmd">git show ' + esc(sha) + '</pre>' +
    (D.reasons[i] ? '<p>Reason: ' + esc(D.reasons[i]) + '</p>' : '') + '<table class="kv">' + rows + '</table>';
  if (dlg.showModal) dlg.showModal(); else dlg.setAttribute('open', '');
}

// ---- header, start-up ----------------------------------------------------------------------------
function renderHeader() {
  var m = D.meta;
  $('title').textContent = 'rx report — ' + m.sweep;
  var rows = [
    ['sweep', esc(m.sweep)], ['base commit', '<code title="' + esc(m.base || '') + '">' + esc((m.base || '').slice(0, 12)) + '</code>' + (m.branch ? ' on ' + esc(m.branch) : '')],
    ['remote', esc(m.remote || '')], ['runs', String(m.runs)], ['states', stateLegend()],
    ['made', esc(m.made) + ' by rx ' + esc(m.rx)]
  ];
  $('meta').innerHTML = rows.map(function (r) { return '<dt>' + r[0] + '</dt><dd>' + r[1] + '</dd>'; }).join('');
  if (D.fixed.length) {
    $('fixed').hidden = false;
    $('fixed-list').innerHTML = D.fixed.map(function (f) { return '<code>' + esc(f[0]) + ' = ' + esc(f[1]) + '</code>'; }).join(' ');
  }
}

function build() {
  api.charts = {}; pending = [];
  renderMap(); renderResults(); renderTracks();
}

renderHeader();
setupTable();
build();
// Dark/light switch: colours of axes are read from CSS when a chart is made, so charts are rebuilt.
if (window.matchMedia) window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', build);
var rt = null;
window.addEventListener('resize', function () {
  clearTimeout(rt);
  rt = setTimeout(function () {
    Object.keys(api.charts).forEach(function (id) { var c = api.charts[id]; c.u.setSize({ width: Math.max(320, Math.min(c.el.clientWidth || 640, 1100)), height: c.u.height }); });
  }, 200);
});
// Printing: every chart drawn and the whole table (up to 5,000 rows) instead of the current page.
window.addEventListener('beforeprint', function () { renderAll(); if (N <= 5000) renderTable(true); });
window.addEventListener('afterprint', function () { renderTable(); });
requestAnimationFrame(function () {
  api.ready = true;
  document.body.setAttribute('data-ready', '1');
  if (window.performance && performance.mark) performance.mark('rx-ready');
});
})();
`;
