// The overview: counts by kind and status, open alerts, the last applies,
// and every object, a page at a time (the state may hold thousands).
import { fill, el, clear, getJSON, enc, badge, link, table, fmtTime, showCommands, poll } from './lib.js';

const pageSize = 100;
const statuses = ['ready', 'running', 'failed', 'tainted', 'drifted', 'breach'];

export async function overviewPage(main) {
  const params = new URLSearchParams(location.search);
  const state = { kind: params.get('kind') || '', status: params.get('status') || '', q: params.get('q') || '', offset: Number(params.get('offset')) || 0 };
  const head = el('div');
  const cards = el('div', { class: 'cards', id: 'kinds' });
  const side = el('div', { class: 'grid2' });
  const kindSel = el('select', { id: 'filter-kind', 'aria-label': 'kind' }, el('option', { value: '' }, 'every kind'));
  const statusSel = el('select', { id: 'filter-status', 'aria-label': 'status' }, el('option', { value: '' }, 'every status'),
    statuses.map(s => el('option', { value: s }, s)));
  const search = el('input', { id: 'filter-q', type: 'search', placeholder: 'address contains…', value: state.q });
  const pager = el('div', { class: 'pager' });
  const tableBox = el('div', { id: 'objects-box' });
  main.append(head, cards, side, el('h2', {}, 'Objects'), el('div', { class: 'filters' }, kindSel, statusSel, search), pager, tableBox);
  statusSel.value = state.status;

  let knownKinds = '';
  const refreshObjects = async () => {
    const q = new URLSearchParams({ offset: state.offset, limit: pageSize });
    if (state.kind) q.set('kind', state.kind);
    if (state.status) q.set('status', state.status);
    if (state.q) q.set('q', state.q);
    const d = await getJSON('/api/objects?' + q);
    renderObjects(tableBox, pager, d, state, refreshObjects);
  };
  const refilter = () => {
    state.kind = kindSel.value; state.status = statusSel.value; state.q = search.value.trim(); state.offset = 0;
    const u = new URLSearchParams();
    for (const k of ['kind', 'status', 'q']) if (state[k]) u.set(k, state[k]);
    history.replaceState(null, '', '/' + (u.toString() ? '?' + u : ''));
    refreshObjects();
  };
  kindSel.addEventListener('change', refilter);
  statusSel.addEventListener('change', refilter);
  search.addEventListener('input', () => { clearTimeout(search.timer); search.timer = setTimeout(refilter, 250); });

  poll(async () => {
    const [o] = await Promise.all([getJSON('/api/overview'), refreshObjects()]);
    const kinds = Object.keys(o.kinds).sort();
    if (kinds.join() !== knownKinds) {
      knownKinds = kinds.join();
      kindSel.replaceChildren(el('option', { value: '' }, 'every kind'), kinds.map(k => el('option', { value: k }, k)));
      kindSel.value = state.kind;
    }
    renderOverview(head, cards, side, o);
    showCommands(o.commands);
  }, main);
}

function renderOverview(head, cards, side, o) {
  fill(head, el('h1', {}, 'Overview', el('span', { class: 'sub' },
    `state version ${o.serial}${o.complete ? '' : ' (being written)'} · ${o.total.toLocaleString()} objects`)));
  clear(cards);
  for (const k of Object.keys(o.kinds).sort()) {
    const byStatus = o.kinds[k];
    const n = Object.values(byStatus).reduce((a, b) => a + b, 0);
    cards.append(el('div', { class: 'card', 'data-kind': k },
      el('div', { class: 'k' }, el('a', { href: '/?kind=' + enc(k) }, k)),
      el('div', { class: 'v' }, n.toLocaleString()),
      el('div', { class: 'chips' }, Object.keys(byStatus).sort().map(s =>
        el('a', { href: `/?kind=${enc(k)}&status=${enc(s)}` }, el('span', { class: 'badge ' + s }, `${s} ${byStatus[s]}`))))));
  }
  const alerts = o.alerts.length === 0 ? el('p', { class: 'empty', id: 'alerts' }, 'No open alerts.') :
    table(['monitor', 'deployment', 'breaches', 'since'], o.alerts.map(a => el('tr', {},
      el('td', {}, link(a.monitor, 'monitor')), el('td', {}, a.deployment ? link(a.deployment, 'deployment') : '—'),
      el('td', {}, (a.breaches || []).map(b => `${b.check} = ${Number(b.value).toPrecision(4)} (${b.kind} ${b.bound})`).join('; ')),
      el('td', {}, fmtTime(a.since || a.last_checked)))), { id: 'alerts' });
  const applies = table(['serial', 'when', 'who', 'command', 'changes', 'result'], o.applies.map(v => el('tr', {},
    el('td', { class: 'num' }, el('a', { href: `/history?to=${v.serial}` }, v.serial)), el('td', {}, fmtTime(v.time)), el('td', {}, v.who),
    el('td', { class: 'mono' }, v.command), el('td', { class: 'mono' }, changes(v.counts)), el('td', {}, badge(resultOf(v.status), v.status))),
  ), { id: 'applies' });
  fill(side, el('div', {}, el('h2', {}, 'Open alerts'), alerts), el('div', {}, el('h2', {}, 'Last applies'), applies));
}

export function changes(c) {
  return `+${c.added} ~${c.changed} -/+${c.replaced} -${c.destroyed}` + (c.failed ? ` !${c.failed}` : '');
}
function resultOf(s) { return s === 'complete' ? 'ready' : s === 'partial' ? 'failed' : 'running'; }

function renderObjects(box, pager, d, state, refresh) {
  const rows = d.objects.map(o => el('tr', { 'data-address': o.address, 'data-status': o.status },
    el('td', {}, link(o.address, o.type)), el('td', {}, o.type), el('td', {}, badge(o.status, o.state_status)),
    el('td', { class: 'sub' }, o.detail || ''), el('td', { class: 'num' }, o.version), el('td', { class: 'num' }, o.serial),
    el('td', {}, fmtTime(o.changed_at)), el('td', {}, o.provider)));
  const t = table(['address', 'kind', 'status', 'detail', { text: 'version', attrs: { class: 'num' } }, { text: 'serial', attrs: { class: 'num' } }, 'last change', 'provider'],
    rows, { id: 'objects', 'data-total': d.total, 'data-serial': d.serial });
  box.replaceChildren(d.total === 0 ? el('p', { class: 'empty', id: 'objects', 'data-total': 0 }, 'No object matches.') : t);
  const last = Math.min(d.offset + d.objects.length, d.total);
  fill(pager, 
    el('button', { id: 'prev', disabled: d.offset === 0, onclick: () => { state.offset = Math.max(0, state.offset - pageSize); refresh(); } }, '‹ previous'),
    el('span', { id: 'range' }, d.total ? `${(d.offset + 1).toLocaleString()}–${last.toLocaleString()} of ${d.total.toLocaleString()}` : '0 of 0'),
    el('button', { id: 'next', disabled: last >= d.total, onclick: () => { state.offset += pageSize; refresh(); } }, 'next ›'));
  if (!window.llmopsObjectsRendered) {
    window.llmopsObjectsRendered = performance.now();
    performance.mark('objects-rendered');
  }
}
