// The lineage graph, laid out by dagre (vendored) and drawn as SVG: the
// whole version's (/lineage), or one object's ancestry (/lineage/ADDR).
// Inputs are on the left, what was made from them on the right; each node
// links to its object's page.
import { fill, needScript, el, svg, clear, getJSON, enc, pageOf, shortDigest, showCommands, poll } from './lib.js';

const kinds = new Set(['model', 'dataset', 'training_run', 'evaluation', 'deployment', 'monitor', 'prompt', 'embedding_index']);

// flatten turns a lineage tree (api/lineage/ADDR) into nodes and edges.
export function flatten(tree) {
  const nodes = new Map();
  const edges = new Map();
  const walk = (n) => {
    if (!nodes.has(n.address)) nodes.set(n.address, { address: n.address, type: n.address.split('.')[0], version: n.version, serial: n.serial, status: n.status, digest: n.digest });
    for (const p of n.inputs || []) {
      edges.set(p.address + '\u0000' + n.address, { input: p.address, object: n.address });
      walk(p);
    }
  };
  walk(tree);
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

export async function lineagePage(main, address) {
  await needScript('/static/vendor/dagre/dagre.min.js');
  const head = el('h1', {}, address ? ['Lineage of ', address] : 'Lineage');
  const sub = el('p', { class: 'sub' });
  const box = el('div', { id: 'graph' });
  main.append(head, sub, box);
  let drawn = '';
  poll(async () => {
    let g;
    if (address) {
      const d = await getJSON('/api/lineage/' + enc(address));
      g = flatten(d.lineage);
      g.serial = d.serial;
    } else {
      g = await getJSON('/api/lineage');
    }
    const key = JSON.stringify(g);
    fill(sub, `state version ${g.serial} · ${g.nodes.length} objects, ${g.edges.length} links · `,
      address ? el('a', { href: '/lineage' }, 'the whole graph') : 'click a node for its page');
    if (key !== drawn) {
      drawn = key;
      draw(box, g, address);
    }
    showCommands(address ? [
      { command: `llmops lineage ${address}`, does: 'the same ancestry in the terminal, with digests' },
      { command: `llmops rollback ${address} --previous`, does: 'put it back to its previous version' },
    ] : [{ command: 'llmops graph -lineage | dot -Tsvg > lineage.svg', does: 'the same graph as DOT' }]);
  }, main);
}

function draw(box, g, focus) {
  const layout = new dagre.graphlib.Graph();
  layout.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 60, marginx: 12, marginy: 12 });
  layout.setDefaultEdgeLabel(() => ({}));
  for (const n of g.nodes) layout.setNode(n.address, { width: Math.max(170, 7.2 * n.address.length + 20), height: n.digest ? 54 : 40, n });
  for (const e of g.edges) layout.setEdge(e.input, e.object);
  dagre.layout(layout);
  const gg = layout.graph();
  const root = svg('svg', { class: 'lineage', id: 'lineage-svg', viewBox: `0 0 ${gg.width || 10} ${gg.height || 10}`,
    height: Math.min(Math.max(gg.height || 0, 120), 900), 'data-nodes': g.nodes.length, 'data-edges': g.edges.length, role: 'img', 'aria-label': 'lineage graph' });
  root.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
    svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow' }))));
  for (const e of layout.edges()) {
    const pts = layout.edge(e).points;
    const d = 'M ' + pts.map(p => `${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' L ');
    root.append(svg('path', { class: 'edge', d, 'marker-end': 'url(#arrow)', 'data-from': e.v, 'data-to': e.w }));
  }
  for (const id of layout.nodes()) {
    const ln = layout.node(id);
    const n = ln.n;
    const x = ln.x - ln.width / 2, y = ln.y - ln.height / 2;
    const type = kinds.has(n.type) ? n.type : 'other';
    root.append(svg('a', { href: pageOf(n.address, n.type), class: `node t-${type}${n.address === focus ? ' focus' : ''}`, 'data-address': n.address },
      svg('title', {}, `${n.address}\nversion ${n.version}, serial ${n.serial}${n.digest ? '\n' + n.digest : ''}`),
      svg('rect', { x, y, width: ln.width, height: ln.height }),
      svg('text', { class: 'addr', x: x + 10, y: y + 17 }, n.address),
      svg('text', { x: x + 10, y: y + 32 }, `v${n.version} · serial ${n.serial}${n.status && n.status !== 'ready' ? ' · ' + n.status : ''}`),
      n.digest ? svg('text', { x: x + 10, y: y + 46, class: 'mono' }, shortDigest(n.digest)) : null));
  }
  box.replaceChildren(g.nodes.length ? root : el('p', { class: 'empty' }, 'Nothing recorded.'));
}
