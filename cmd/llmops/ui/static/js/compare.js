// The comparison of a sweep's runs (a for_each or count resource): their
// curves overlaid, a table of final metrics and gates, the best one marked.
import { fill, el, clear, getJSON, enc, badge, link, table, fmtNum, showCommands, poll } from './lib.js';
import { lineChart, align, loadCharts } from './chart.js';
import { xsOf } from './run.js';

export async function comparePage(main, resource) {
  await loadCharts();
  const params = new URLSearchParams(location.search);
  let metric = params.get('metric') || '';
  let curve = params.get('curve') || '';
  const head = el('div');
  const controls = el('div', { class: 'filters' });
  const chartBox = el('div', { class: 'chart', id: 'chart-compare' });
  const tableBox = el('div', { id: 'compare-box' });
  main.append(head, controls, chartBox, el('h2', {}, 'Final metrics and gates'), tableBox);
  const offsets = {};
  const points = {};

  const refresh = poll(async () => {
    const q = new URLSearchParams({ resource });
    if (metric) q.set('metric', metric);
    const d = await getJSON('/api/compare?' + q);
    metric = d.metric;
    await Promise.all(d.runs.map(async r => {
      const m = await getJSON(`/api/runs/${enc(r.address)}/metrics?offset=${offsets[r.address] || 0}`);
      if (m.reset || !points[r.address]) points[r.address] = [];
      points[r.address].push(...m.points);
      offsets[r.address] = m.next_offset;
    }));
    const keys = [...new Set(d.runs.flatMap(r => points[r.address].flatMap(p => Object.keys(p))))].filter(k => !['step', 'epoch', 'progress'].includes(k)).sort();
    if (!keys.includes(curve)) curve = keys.includes('loss') ? 'loss' : (keys.find(k => /loss/.test(k)) || keys[0] || '');
    fill(head, el('h1', {}, 'Comparison of ', resource, el('span', { class: 'sub' }, `${d.runs.length} runs · state version ${d.serial}`)),
      el('p', { class: 'sub' }, d.best ? ['Best by ', el('b', {}, d.metric), ` (${d.direction === 'min' ? 'lowest' : 'highest'}${d.runs.some(r => r.passed !== null) ? ', among runs whose gates passed' : ''}): `, link(d.best)] : 'No run has the metric yet.'));
    const metricSel = el('select', { id: 'metric', 'aria-label': 'metric', onchange: (e) => { metric = e.target.value; syncURL(); } }, d.metrics.map(m => el('option', { value: m }, m)));
    metricSel.value = d.metric;
    const curveSel = el('select', { id: 'curve', 'aria-label': 'curve', onchange: (e) => { curve = e.target.value; syncURL(); } }, keys.map(k => el('option', { value: k }, k)));
    curveSel.value = curve;
    fill(controls, 'best by ', metricSel, ' curves of ', curveSel);
    const series = d.runs.map(r => {
      const ps = points[r.address];
      const { xs } = xsOf(ps);
      return ps.map((p, i) => ({ x: xs[i], y: curve in p ? p[curve] : undefined })).filter(p => p.y !== undefined);
    });
    lineChart(chartBox, 'compare', `${curve} of each run`, d.runs.map(r => r.address), align(series), { best: d.best, empty: 'No curves yet.' });
    renderTable(tableBox, d);
    showCommands([
      { command: `llmops apply -replace '${d.best || resource}'`, does: 'run the best one again' },
      { command: `llmops state show '${d.best || resource}'`, does: 'its recorded attributes' },
      { command: 'llmops plan', does: 'after editing the sweep (for_each) in the configuration' },
    ]);
  }, main);

  function syncURL() {
    const u = new URLSearchParams({ metric, curve });
    history.replaceState(null, '', location.pathname + '?' + u);
    refresh.now();
  }
}

function renderTable(box, d) {
  const hp = [...new Set(d.runs.flatMap(r => Object.keys(r.hyperparameters || {})))].sort();
  const headers = ['run', 'status', 'gates', ...hp.map(h => ({ text: h, attrs: { class: 'num' } })), ...d.metrics.map(m => ({ text: m, attrs: { class: 'num' + (m === d.metric ? ' sorted' : '') } }))];
  const rows = d.runs.map(r => el('tr', { class: r.address === d.best ? 'best' : null, 'data-address': r.address, 'data-best': r.address === d.best ? 'true' : null },
    el('td', {}, link(r.address), r.address === d.best ? el('span', { class: 'star', title: 'best' }, '★ best') : null),
    el('td', {}, badge(r.status)),
    el('td', {}, r.passed === null ? '—' : badge(r.passed ? 'pass' : 'fail'), ' ', r.evaluations.map(e => link(e.address))),
    hp.map(h => el('td', { class: 'num' }, fmtNum(typeof r.hyperparameters[h] === 'object' ? JSON.stringify(r.hyperparameters[h]) : r.hyperparameters[h]))),
    d.metrics.map(m => el('td', { class: 'num' }, fmtNum(r.final[m])))));
  box.replaceChildren(table(headers, rows, { id: 'compare' }));
}
