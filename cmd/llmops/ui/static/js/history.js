// The state versions, and the diff between two of them as `llmops diff`
// prints it.
import { fill, el, clear, getJSON, badge, table, fmtTime, showCommands, poll } from './lib.js';
import { changes } from './overview.js';

export async function historyPage(main) {
  const params = new URLSearchParams(location.search);
  let from = Number(params.get('from')) || 0, to = Number(params.get('to')) || 0;
  const head = el('h1', {}, 'History');
  const pick = el('div', { class: 'filters' });
  const diffBox = el('div', { id: 'diff-box' });
  const versions = el('div');
  main.append(head, pick, diffBox, el('h2', {}, 'State versions'), versions);
  let shown = '';

  const refresh = poll(async () => {
    const d = await getJSON('/api/versions');
    const vs = d.versions;
    if (vs.length === 0) { versions.replaceChildren(el('p', { class: 'empty' }, 'Nothing applied yet.')); return; }
    const latest = vs[vs.length - 1].serial;
    if (!to) to = latest;
    if (!from) from = Math.max(vs[0].serial, to - 1);
    const fromSel = el('select', { id: 'from', 'aria-label': 'from', onchange: e => { from = Number(e.target.value); sync(); } }, vs.map(v => el('option', { value: v.serial }, `version ${v.serial}`)));
    const toSel = el('select', { id: 'to', 'aria-label': 'to', onchange: e => { to = Number(e.target.value); sync(); } }, vs.map(v => el('option', { value: v.serial }, `version ${v.serial}`)));
    fromSel.value = from; toSel.value = to;
    fill(pick, 'What changed from ', fromSel, ' to ', toSel);
    versions.replaceChildren(table(['serial', 'when', 'who', 'command', 'config', 'changes', 'objects', 'status', ''], vs.slice().reverse().map(v => el('tr', { 'data-serial': v.serial },
      el('td', { class: 'num' }, v.serial), el('td', {}, fmtTime(v.time)), el('td', {}, v.who), el('td', { class: 'mono' }, v.command),
      el('td', { class: 'mono' }, (v.config_digest || '').slice(0, 19)), el('td', { class: 'mono' }, changes(v.counts)), el('td', { class: 'num' }, v.objects),
      el('td', {}, badge(v.status === 'complete' ? 'ready' : v.status === 'partial' ? 'failed' : 'running', v.status), ' ', v.status),
      el('td', {}, el('a', { href: `/history?from=${Math.max(v.serial - 1, vs[0].serial)}&to=${v.serial}` }, 'diff')))), { id: 'versions' }));
    const key = `${from}-${to}`;
    if (key !== shown) {
      const diff = await getJSON(`/api/diff?from=${from}&to=${to}`);
      shown = key;
      diffBox.replaceChildren(el('h2', {}, `Changes from state version ${from} to ${to}`),
        diff.resource_changes.length === 0 ? el('p', { class: 'empty', id: 'diff' }, `No differences between versions ${from} and ${to}.`) : diffText(diff.text));
    }
    showCommands([
      { command: `llmops diff ${from} ${to}`, does: 'the same diff in the terminal (with the state key, sensitive changes too)' },
      { command: `llmops rollback ADDR --to ${from}`, does: `put an object back as it was in version ${from}` },
      { command: 'llmops state restore', does: 'restore the backup taken before the last apply' },
    ]);
  }, main);

  function sync() {
    history.replaceState(null, '', `/history?from=${from}&to=${to}`);
    refresh.now();
  }
}

// diffText colours the CLI's diff text by the mark that starts each line.
function diffText(text) {
  const pre = el('pre', { class: 'diff', id: 'diff' });
  for (const line of text.split('\n')) {
    const t = line.trimStart();
    const cls = t.startsWith('#') ? 'hdr' : t.startsWith('-/+') || t.startsWith('~') ? 'chg' : t.startsWith('+') ? 'add' : t.startsWith('-') ? 'del' : null;
    pre.append(cls ? el('span', { class: cls }, line) : line, '\n');
  }
  return pre;
}
