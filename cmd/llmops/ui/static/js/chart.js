// Line charts over uPlot (vendored, see static/vendor/README.md). Every
// chart is registered in window.llmopsCharts by name, with the data it
// plots, for the browser tests and for anyone curious in the console.
import { el, clear, needScript } from './lib.js';

// loadCharts loads uPlot; pages with charts await it first.
export const loadCharts = () => needScript('/static/vendor/uplot/uPlot.iife.min.js');

const palette = ['#2c5fb8', '#d9480f', '#2f9e44', '#9c36b5', '#e67700', '#0c8599', '#c2255c', '#5c940d', '#1864ab', '#862e9c'];
export const charts = (window.llmopsCharts = window.llmopsCharts || {});

// lineChart draws (or updates) a chart in box: data is [xs, ys1, ys2, ...]
// with null where a series has no point; labels name the series.
// opts.time: xs are Unix seconds; opts.best: the label drawn thicker.
export function lineChart(box, name, title, labels, data, opts = {}) {
  const prev = charts[name];
  const key = labels.join('\u0000') + '|' + (opts.best || '');
  if (prev && prev.box === box && prev.key === key) {
    prev.data = data;
    prev.u.setData(data);
    box.dataset.points = String(data[0].length);
    return prev.u;
  }
  if (prev) prev.u.destroy();
  clear(box);
  box.append(el('h3', {}, title));
  box.dataset.chart = name;
  box.dataset.points = String(data[0].length);
  if (data[0].length === 0) {
    box.append(el('div', { class: 'none' }, opts.empty || 'No points yet.'));
    delete charts[name];
    return null;
  }
  const width = Math.max(300, box.clientWidth - 16);
  const series = [{ label: opts.xLabel || 'step' }].concat(labels.map((l, i) => ({
    label: l,
    stroke: palette[i % palette.length],
    width: l === opts.best ? 3 : 1.5,
    spanGaps: true,
    points: { show: data[0].length <= 60 },
    value: (u, v) => (v === null || v === undefined ? '—' : Number(v.toPrecision(5))),
  })));
  const u = new uPlot({
    width, height: opts.height || 220, series,
    scales: { x: { time: !!opts.time } },
    axes: [{ label: opts.time ? null : (opts.xLabel || 'step') }, { size: 60 }],
    legend: { live: true },
  }, data, box);
  charts[name] = { u, box, key, data, labels };
  const ro = new ResizeObserver(() => {
    const w = Math.max(300, box.clientWidth - 16);
    if (Math.abs(w - u.width) > 4) u.setSize({ width: w, height: u.height });
  });
  ro.observe(box);
  return u;
}

// align turns series of points ({x, y}) into uPlot's aligned columns over
// the union of their xs, sorted.
export function align(seriesPoints) {
  const xs = [...new Set(seriesPoints.flatMap(s => s.map(p => p.x)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const cols = seriesPoints.map(s => {
    const col = new Array(xs.length).fill(null);
    for (const p of s) col[index.get(p.x)] = p.y;
    return col;
  });
  return [xs, ...cols];
}
