/* Sandbox console: logs every kopek:* event the widget fires on #pay into <ol id="events">, as a
 * shop page's own code would receive them: time, event, status, seq and the error code if any.
 * Each entry is <li data-event="kopek:…" data-status="…" data-seq="…">; the log keeps the last
 * MAX_ENTRIES, and a "Clear" button (added here, since it needs this script) empties it. */
(() => {
  'use strict';

  const EVENTS = ['ready', 'status', 'succeeded', 'failed', 'canceled', 'expired'];
  const MAX_ENTRIES = 200;
  const container = document.getElementById('pay');
  const log = document.getElementById('events');
  if (!container || !log) return;

  for (const name of EVENTS) container.addEventListener('kopek:' + name, append);
  addClearButton();

  function append(event) {
    const detail = event.detail || {};
    const error = detail.error && (detail.error.code || detail.error.message);
    const parts = [clock(), event.type, detail.status];
    if (detail.seq !== undefined && detail.seq !== null) parts.push('seq ' + detail.seq);
    if (error) parts.push(String(error));
    const item = document.createElement('li');
    item.dataset.event = event.type;
    if (detail.status) item.dataset.status = detail.status;
    if (detail.seq !== undefined && detail.seq !== null) item.dataset.seq = String(detail.seq);
    item.textContent = parts.filter(Boolean).join(' · ');
    log.append(item);
    while (log.children.length > MAX_ENTRIES) log.firstElementChild.remove();
    log.scrollTop = log.scrollHeight;
  }

  function addClearButton() {
    const button = document.createElement('button');
    button.type = 'button';
    button.id = 'events-clear';
    button.textContent = document.documentElement.lang === 'ru' ? 'Очистить журнал' : 'Clear the log';
    button.addEventListener('click', () => log.replaceChildren());
    const actions = document.createElement('div');
    actions.className = 'actions';
    actions.append(button);
    log.after(actions);
  }

  function clock() {
    return new Date().toTimeString().slice(0, 8);
  }
})();
