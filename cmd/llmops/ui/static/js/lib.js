// Shared helpers of the dashboard's pages: DOM building (text only, never
// HTML from data), the API, formatting, polling and the CLI footer.

export const pollMs = Number(document.body.dataset.pollMs) || 2000;

// el builds an element: el('td', {class: 'num'}, 'text', child, ...).
// Attributes starting with "on" are listeners; strings become text nodes.
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG, tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

function setAttrs(e, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(e, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(e) { while (e.firstChild) e.firstChild.remove(); return e; }

// fill replaces e's children (null, undefined and false are left out).
export function fill(e, ...children) {
  clear(e);
  append(e, children);
  return e;
}

export async function getJSON(url) {
  const r = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  let body;
  try { body = await r.json(); } catch { body = null; }
  if (!r.ok) throw new Error((body && body.error) || `${r.status} ${r.statusText}`);
  return body;
}

export const enc = encodeURIComponent;

// needScript loads a vendored library (a classic script) once, when a page
// first needs it: the overview needs neither chart nor graph code.
const scripts = {};
export function needScript(src) {
  if (!scripts[src]) {
    scripts[src] = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error('cannot load ' + src));
      document.head.append(s);
    });
  }
  return scripts[src];
}

// Links to each kind's page.
export function pageOf(address, type) {
  type = type || address.split('.')[0];
  if (type === 'training_run' || type === 'evaluation' || type === 'embedding_index') return '/runs/' + enc(address);
  if (type === 'deployment') return '/deployments/' + enc(address);
  return '/objects/' + enc(address);
}
export function link(address, type) { return el('a', { href: pageOf(address, type), 'data-address': address }, address); }
export function resourceOf(address) { const i = address.indexOf('['); return i < 0 ? address : address.slice(0, i); }

export function badge(status, title) {
  return el('span', { class: 'badge ' + (status || ''), title: title || null }, status || '—');
}

export function fmtTime(t) {
  if (!t || t.startsWith('0001-')) return '—';
  const d = new Date(t);
  return isNaN(d) ? t : d.toLocaleString();
}

export function fmtNum(x, digits = 4) {
  if (x === null || x === undefined) return '—';
  if (typeof x !== 'number') return String(x);
  if (Number.isInteger(x)) return x.toLocaleString();
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(3) : String(Number(x.toPrecision(digits)));
}

export function shortDigest(d) { return d && d.startsWith('sha256:') ? d.slice(0, 19) : (d || ''); }

// value renders a JSON value with its parallel sensitive tree: sensitive
// parts as "(sensitive)" (their value is never sent).
export function value(v, sens) {
  if (sens === true) return el('span', { class: 'sensitive' }, '(sensitive)');
  if (v === null || v === undefined) return el('span', { class: 'null' }, 'null');
  if (Array.isArray(v)) {
    if (v.length === 0) return el('span', { class: 'null' }, '[]');
    if (v.every(x => x === null || typeof x !== 'object') && !Array.isArray(sens)) return el('span', { class: 'mono' }, v.map(x => JSON.stringify(x)).join(', '));
    return el('ol', {}, v.map((x, i) => el('li', {}, value(x, Array.isArray(sens) ? sens[i] : false))));
  }
  if (typeof v === 'object') {
    const keys = Object.keys(v).sort();
    if (keys.length === 0) return el('span', { class: 'null' }, '{}');
    return kv(keys.map(k => [k, value(v[k], sens && typeof sens === 'object' ? sens[k] : false)]));
  }
  if (typeof v === 'number') return el('span', { class: 'mono' }, fmtNum(v, 8));
  return el('span', { class: 'mono' }, String(v));
}

export function kv(pairs) {
  return el('dl', { class: 'kv' }, pairs.filter(p => p).map(([k, v]) => [el('dt', {}, k), el('dd', {}, v instanceof Node ? v : String(v ?? '—'))]));
}

export function table(headers, rows, attrs) {
  return el('table', attrs || {},
    el('thead', {}, el('tr', {}, headers.map(h => typeof h === 'string' ? el('th', {}, h) : el('th', h.attrs, h.text)))),
    el('tbody', {}, rows));
}

// showCommands fills the footer with the CLI commands of the page.
export function showCommands(cmds) {
  const ul = clear(document.getElementById('cli-commands'));
  for (const c of cmds || []) ul.append(el('li', {}, el('code', {}, c.command), el('span', { class: 'does' }, c.does)));
  document.getElementById('cli').hidden = !(cmds && cmds.length);
}

// live marks the header's indicator after each refresh.
export function live(ok, text) {
  const e = document.getElementById('live');
  e.className = 'live ' + (ok ? 'updated' : 'error');
  e.textContent = text;
}

// poll runs fn now and every pollMs after it settles, never two at once.
// Until fn first succeeds, its error replaces what target shows. The
// returned now() runs it again at once (after the run in progress).
export function poll(fn, target) {
  let ok = false, running = false, again = false, timer = null;
  const tick = async () => {
    clearTimeout(timer);
    if (running) { again = true; return; }
    running = true;
    try {
      await fn();
      ok = true;
      live(true, 'read-only · updated ' + new Date().toLocaleTimeString());
    } catch (e) {
      live(false, 'cannot refresh: ' + e.message);
      if (!ok && target) fill(target, errorBox(e.message));
    }
    running = false;
    if (again) { again = false; tick(); return; }
    timer = setTimeout(tick, pollMs);
  };
  tick();
  return { now: tick };
}

export function errorBox(msg) { return el('div', { class: 'error-box', role: 'alert' }, msg); }
