// The event log: breaches, alerts, rollbacks, restarts, lock takeovers.
import { el, getJSON, showCommands, poll } from './lib.js';
import { eventsTable } from './deployment.js';

export async function eventsPage(main) {
  const box = el('div', { id: 'events-box' });
  main.append(el('h1', {}, 'Events'), box);
  poll(async () => {
    const d = await getJSON('/api/events?n=200');
    box.replaceChildren(eventsTable(d.events));
    showCommands([
      { command: 'llmops events', does: 'the same log in the terminal' },
      { command: 'llmops watch', does: 'read the monitors, send alerts, roll back or restart on breach' },
    ]);
  }, main);
}
