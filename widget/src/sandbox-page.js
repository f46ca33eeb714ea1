/* Sandbox demo page: logs every kopek:* event the widget fires on #pay into <ol id="events">. */
(() => {
  'use strict';

  const EVENTS = ['ready', 'status', 'succeeded', 'failed', 'canceled', 'expired'];
  const container = document.getElementById('pay');
  const log = document.getElementById('events');
  if (!container || !log) return;

  for (const name of EVENTS) container.addEventListener('kopek:' + name, append);

  function append(event) {
    const detail = event.detail || {};
    const parts = [event.type, detail.status];
    if (detail.seq !== undefined && detail.seq !== null) parts.push('seq ' + detail.seq);
    const item = document.createElement('li');
    item.dataset.event = event.type;
    item.textContent = parts.filter(Boolean).join(' · ');
    log.append(item);
  }
})();
