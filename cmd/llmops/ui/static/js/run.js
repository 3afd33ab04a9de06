// A training run's, evaluation's or embedding index's page: curves from
// its metrics.jsonl (growing while the job runs), final metrics, gates,
// settings and the tail of its log.
import { fill, el, clear, getJSON, enc, badge, kv, value, table, fmtNum, fmtTime, showCommands, poll, resourceOf } from './lib.js';
import { lineChart, loadCharts } from './chart.js';

// Keys of metrics.jsonl lines that are axes or bookkeeping, not curves.
const axisKeys = new Set(['step', 'epoch', 'progress', 'time', 'timestamp', 'global_step']);

export function curveGroups(keys) {
  const loss = keys.filter(k => /loss|perplexity|ppl/i.test(k));
  const lr = keys.filter(k => /learning_rate|^lr$/i.test(k));
  const other = keys.filter(k => !axisKeys.has(k) && !loss.includes(k) && !lr.includes(k));
  return [['loss', 'Loss', loss], ['metrics', 'Metrics', other], ['lr', 'Learning rate', lr]];
}

// xsOf gives each point its x: its step when every point has one and they
// never go back, else its line number.
export function xsOf(points) {
  let ok = points.length > 0;
  for (let i = 0; ok && i < points.length; i++) {
    ok = typeof points[i].step === 'number' && (i === 0 || points[i].step >= points[i - 1].step);
  }
  return { xs: points.map((p, i) => (ok ? p.step : i + 1)), label: ok ? 'step' : 'line' };
}

export async function runPage(main, address) {
  await loadCharts();
  const head = el('div');
  const curves = el('div', { id: 'curves' });
  const facts = el('div', { class: 'grid2' });
  const logBox = el('div');
  main.append(head, curves, facts, logBox);
  const points = [];
  let offset = 0;
  let boxes = null;

  const render = (d) => {
    fill(head, 
      el('h1', {}, d.address, badge(d.status, d.detail), d.running ? el('span', { class: 'sub' }, 'live: the curves grow as the job writes metrics.jsonl') : null),
      el('p', { class: 'sub' },
        `${d.type} · provider ${d.provider}`, d.job_id ? ` · job ${d.job_id}` : '',
        ` · started ${fmtTime(d.started_at)}`, d.finished_at ? ` · finished ${fmtTime(d.finished_at)}` : '',
        ' · ', el('a', { href: '/lineage/' + enc(d.address) }, 'lineage'),
        ' · ', el('a', { href: '/objects/' + enc(d.address) }, 'all attributes'),
        d.address.includes('[') ? [' · ', el('a', { href: '/compare/' + enc(resourceOf(d.address)), id: 'compare-link' }, 'compare the sweep')] : ''),
    );
    const keys = [...new Set(points.flatMap(p => Object.keys(p)))];
    const { xs, label } = xsOf(points);
    if (!boxes) {
      boxes = {};
      for (const [name] of curveGroups(['loss'])) boxes[name] = el('div', { class: 'chart', id: 'chart-' + name });
      curves.append(...Object.values(boxes));
    }
    for (const [name, title, ks] of curveGroups(keys)) {
      const box = boxes[name];
      box.hidden = ks.length === 0 && name !== 'loss';
      if (box.hidden) continue;
      const data = [xs, ...ks.map(k => points.map(p => (k in p ? p[k] : null)))];
      lineChart(box, name, title + (d.source ? '' : ''), ks, data, { xLabel: label,
        empty: d.source ? 'metrics.jsonl has no points yet.' : 'No metrics.jsonl found for this job (docs/ui.md says where it is looked for).' });
    }
    fill(facts, 
      el('div', {}, el('h2', {}, 'Final metrics'), finalTable(d.final, d.gates),
        d.passed !== null && d.passed !== undefined ? el('p', {}, 'Gates: ', badge(d.passed ? 'pass' : 'fail')) : null),
      el('div', {}, el('h2', {}, 'Settings'), kv([
        ['hyperparameters', value(d.hyperparameters, false)],
        ['resources', value(d.resources, false)],
        ['metrics.jsonl', d.source || '(not found)'],
        ['log', d.log_path || '—'],
      ])),
    );
    fill(logBox, el('h2', {}, 'Log (last lines)'),
      d.log_tail ? el('pre', { class: 'log', id: 'log' }, d.log_tail.join('\n') || '(empty)') : el('p', { class: 'empty' }, 'The log is not readable here.'));
    showCommands(d.commands);
  };

  poll(async () => {
    const d = await getJSON(`/api/runs/${enc(address)}/metrics?offset=${offset}`);
    if (d.reset) points.length = 0;
    points.push(...d.points);
    offset = d.next_offset;
    render(d);
  }, main);
}

function finalTable(final, gates) {
  const keys = Object.keys(final || {}).sort();
  if (keys.length === 0) return el('p', { class: 'empty' }, 'None recorded yet.');
  const bounds = {};
  for (const g of gates || []) bounds[g.metric] = g;
  return table(['metric', { text: 'value', attrs: { class: 'num' } }, 'gate'], keys.map(k => {
    const g = bounds[k];
    let gate = '';
    if (g) {
      const ok = (g.min === null || g.min === undefined || final[k] >= g.min) && (g.max === null || g.max === undefined || final[k] <= g.max);
      gate = el('span', {}, badge(ok ? 'pass' : 'fail'), ' ', [g.min != null ? `≥ ${g.min}` : '', g.max != null ? `≤ ${g.max}` : ''].filter(Boolean).join(' '));
    }
    return el('tr', { 'data-metric': k }, el('td', {}, k), el('td', { class: 'num' }, fmtNum(final[k])), el('td', {}, gate));
  }), { id: 'final' });
}
