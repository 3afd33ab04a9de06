// Any object's page: its attributes (sensitive ones as "(sensitive)"), its
// recorded versions and the commands that act on it.
import { fill, el, clear, getJSON, enc, badge, kv, value, table, fmtTime, pageOf, showCommands, poll } from './lib.js';

export async function objectPage(main, address) {
  const head = el('div');
  const body = el('div', { class: 'grid2' });
  main.append(head, body);
  poll(async () => {
    const d = await getJSON('/api/objects/' + enc(address));
    const o = d.object;
    const special = pageOf(o.address, o.type);
    fill(head, el('h1', {}, o.address, badge(o.status, o.detail)),
      el('p', { class: 'sub' }, `${o.type} · provider ${o.provider} · version ${o.version} · written by state version ${o.serial} (${fmtTime(o.changed_at)})`,
        o.sealed ? ' · has sealed sensitive values' : '', ' · ', el('a', { href: '/lineage/' + enc(o.address) }, 'lineage'),
        special.startsWith('/objects/') ? '' : [' · ', el('a', { href: special }, o.type === 'deployment' ? 'traffic and monitors' : 'curves')]));
    const values = el('div', { id: 'values' }, value(o.values, o.sensitive_values));
    fill(body, 
      el('div', {}, el('h2', {}, 'Attributes'), values),
      el('div', {}, el('h2', {}, 'Recorded versions'), table(['version', 'serial', 'until', 'when', 'status', 'digest / attributes'],
        d.history.slice().reverse().map(h => el('tr', {}, el('td', { class: 'num' }, h.version), el('td', { class: 'num' }, el('a', { href: '/history?to=' + h.serial }, h.serial)),
          el('td', {}, h.removed_by_serial ? String(h.removed_by_serial) : 'current'), el('td', {}, fmtTime(h.time)), el('td', {}, h.status),
          el('td', { class: 'mono' }, [h.digest ? h.digest.slice(0, 19) : '', ...Object.entries(h.attributes || {}).map(([k, v]) => ` ${k}=${v}`)].join(''))))),
        el('h2', {}, 'Depends on'), o.depends_on.length ? kv(o.depends_on.map(a => [a, el('a', { href: pageOf(a) }, 'open')])) : el('p', { class: 'empty' }, 'Nothing.')));
    showCommands(d.commands);
  }, main);
}
