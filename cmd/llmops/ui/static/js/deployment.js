// A deployment's page: live traffic from its gateway (request rate,
// latency percentiles, errors, tokens), its revisions, the monitors that
// watch it with their checks and breaches, and its events.
import { fill, el, clear, getJSON, enc, badge, link, table, fmtNum, fmtTime, showCommands, poll } from './lib.js';
import { lineChart, loadCharts } from './chart.js';

export async function deploymentPage(main, address) {
  await loadCharts();
  const head = el('div');
  const totals = el('div', { class: 'cards', id: 'totals' });
  const charts = el('div', { class: 'grid2' });
  const rpmBox = el('div', { class: 'chart', id: 'chart-rpm' });
  const latBox = el('div', { class: 'chart', id: 'chart-latency' });
  charts.append(rpmBox, latBox);
  const monitors = el('div', { id: 'monitors' });
  const lower = el('div', { class: 'grid2' });
  main.append(head, totals, charts, el('h2', {}, 'Monitors'), monitors, lower);

  poll(async () => {
    const d = await getJSON(`/api/deployments/${enc(address)}/metrics`);
    fill(head, 
      el('h1', {}, d.address, badge(d.status, d.detail), el('span', { class: 'sub' }, `revision ${d.revision}`)),
      el('p', { class: 'sub' }, el('span', { class: 'mono' }, d.endpoint || '(no endpoint)'),
        ` · replicas ${d.healthy_replicas ?? '?'} healthy of ${d.replicas ?? 1}`,
        ' · model ', el('span', { class: 'mono', title: d.model }, (d.model || '').slice(0, 19)),
        ' · ', el('a', { href: '/lineage/' + enc(d.address) }, 'lineage'),
        ' · ', el('a', { href: '/objects/' + enc(d.address) }, 'all attributes')),
      d.error ? el('p', { class: 'error-box' }, d.error) : null);
    const t = d.totals || {};
    const tok = t.tokens || {};
    fill(totals, 
      card('requests (this revision)', fmtNum(t.requests)), card('requests / minute', fmtNum(t.requests_per_minute)),
      card('errors (5xx)', fmtNum(t.errors)), card('error rate', t.error_rate == null ? '—' : (100 * t.error_rate).toFixed(2) + ' %'),
      card('latency p50', t.p50_ms == null ? '—' : fmtNum(t.p50_ms) + ' ms'), card('latency p95', t.p95_ms == null ? '—' : fmtNum(t.p95_ms) + ' ms'),
      Object.keys(tok).sort().map(k => card(`${k} tokens`, fmtNum(tok[k]))));
    // Rates over time need two windows (three scrapes); one point alone
    // would make a meaningless time axis.
    const s = d.series.length >= 2 ? d.series : [];
    const xs = s.map(w => new Date(w.time).getTime() / 1000);
    lineChart(rpmBox, 'rpm', 'Requests per minute (and 5xx errors)', ['requests/min', 'errors'],
      [xs, s.map(w => w.requests_per_minute), s.map(errorsPerMinute)],
      { time: true, xLabel: 'time', empty: 'Measured from when this page opened: rates show after a few seconds.' });
    lineChart(latBox, 'latency', 'Latency (ms)', ['p50', 'p95'], [xs, s.map(w => w.p50_ms), s.map(w => w.p95_ms)],
      { time: true, xLabel: 'time', empty: 'No requests served in the measured intervals yet.' });
    renderMonitors(monitors, d.monitors);
    fill(lower, 
      el('div', {}, el('h2', {}, 'Revisions'), table(['revision', 'model', 'version', 'serial', 'when', 'status'],
        d.revisions.slice().reverse().map(r => el('tr', { class: r.current ? 'best' : null }, el('td', { class: 'num' }, r.revision),
          el('td', { class: 'mono', title: r.model }, (r.model || '').slice(0, 19)), el('td', { class: 'num' }, r.version),
          el('td', { class: 'num' }, el('a', { href: '/history?to=' + r.serial }, r.serial)), el('td', {}, fmtTime(r.time)), el('td', {}, r.status))), { id: 'revisions' })),
      el('div', {}, el('h2', {}, 'Events'), eventsTable(d.events)));
    showCommands(d.commands);
  }, main);
}

// errorsPerMinute is a window's 5xx rate, in the unit of its request rate.
function errorsPerMinute(w) {
  if (w.requests_per_minute == null) return null;
  return w.requests > 0 ? w.requests_per_minute * w.errors / w.requests : 0;
}

function card(k, v) { return el('div', { class: 'card' }, el('div', { class: 'k' }, k), el('div', { class: 'v' }, v)); }

function renderMonitors(box, mons) {
  if (!mons.length) { box.replaceChildren(el('p', { class: 'empty' }, 'No monitor watches this deployment.')); return; }
  box.replaceChildren(...mons.map(m => {
    const checks = m.checks || {};
    const breached = new Set((m.breaches || []).map(b => b.check));
    const rows = Object.keys(checks).sort().map(name => {
      const c = checks[name] || {};
      const v = (m.values || {})[name];
      return el('tr', { 'data-check': name }, el('td', { class: 'mono' }, name), el('td', { class: 'num' }, fmtNum(c.min)), el('td', { class: 'num' }, fmtNum(c.max)),
        el('td', { class: 'num' }, fmtNum(v)), el('td', {}, v === undefined ? badge('no data') : el('span', { class: 'badge ' + (breached.has(name) ? 'breach' : 'ready') }, breached.has(name) ? 'breach' : 'ok')));
    });
    return el('div', { class: 'monitor', 'data-address': m.address },
      el('p', {}, link(m.address, 'monitor'), ' ', badge(m.status, m.detail), el('span', { class: 'sub' },
        ` · last reading ${fmtTime(m.last_checked)} of revision ${m.deployment_revision ?? '?'} · every ${m.interval || '30s'} · on breach: ${m.on_breach || 'alert'}`)),
      table(['check', { text: 'min', attrs: { class: 'num' } }, { text: 'max', attrs: { class: 'num' } }, { text: 'last value', attrs: { class: 'num' } }, ''], rows));
  }));
}

export function eventsTable(evs) {
  if (!evs.length) return el('p', { class: 'empty' }, 'No events.');
  return table(['when', 'kind', 'address', 'message'], evs.slice().reverse().map(e => el('tr', { 'data-kind': e.kind },
    el('td', {}, fmtTime(e.time)), el('td', { class: 'mono' }, e.kind), el('td', {}, e.address ? link(e.address) : ''), el('td', {}, e.message))), { class: 'events' });
}
