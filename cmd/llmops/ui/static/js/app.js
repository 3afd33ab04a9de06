// The dashboard's entry point: picks the page the address names.
import { el, clear } from './lib.js';
import { overviewPage } from './overview.js';
import { objectPage } from './object.js';
import { runPage } from './run.js';
import { comparePage } from './compare.js';
import { lineagePage } from './lineage.js';
import { deploymentPage } from './deployment.js';
import { historyPage } from './history.js';
import { eventsPage } from './events.js';

const routes = [
  ['/objects/', 'overview', objectPage],
  ['/runs/', 'overview', runPage],
  ['/compare/', 'overview', comparePage],
  ['/deployments/', 'overview', deploymentPage],
  ['/lineage/', 'lineage', lineagePage],
  ['/lineage', 'lineage', lineagePage],
  ['/history', 'history', historyPage],
  ['/events', 'events', eventsPage],
  ['/', 'overview', overviewPage],
];

function start() {
  document.getElementById('where').textContent = document.body.dataset.where || '';
  const main = clear(document.getElementById('main'));
  const path = location.pathname;
  for (const [prefix, nav, page] of routes) {
    const exact = !prefix.endsWith('/') || prefix === '/';
    if (exact ? path === prefix : path.startsWith(prefix)) {
      for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === nav);
      const arg = exact ? undefined : decodeURIComponent(path.slice(prefix.length));
      if (arg !== undefined) document.title = arg + ' · llmops';
      page(main, arg);
      return;
    }
  }
  main.append(el('p', { class: 'error-box' }, 'No such page.'));
}

start();
