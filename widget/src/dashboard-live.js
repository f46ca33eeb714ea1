/*! Kopek dashboard: the payment list, live. Opens /dashboard/payments/live (the session cookie
 * authorises it), updates a row's status when its payment changes, marks it .updated, announces
 * the change politely to screen readers, and puts new payments on top when the page shows the
 * newest payments unfiltered. Reconnects with backoff. Without it the page works: reload.
 * Builds every node with createElement/textContent. */
(() => {
  'use strict';

  const table = document.querySelector('table[data-live-url]');
  if (!table || !('WebSocket' in window)) return;
  const body = table.tBodies[0];
  const announcer = document.getElementById('live-announcer');
  const prependNew = table.dataset.livePrepend === 'true';
  const rowsMax = Number(table.dataset.limit) || 25;
  const BACKOFF_MS_MIN = 1000;
  const BACKOFF_MS_MAX = 30000;
  const STABLE_SOCKET_MS = 10000; // a socket that lived this long resets the backoff
  let backoffMs = BACKOFF_MS_MIN;

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const socket = new WebSocket(scheme + location.host + table.dataset.liveUrl);
    let openedAt = 0;
    socket.addEventListener('open', () => {
      openedAt = Date.now();
      table.dataset.liveState = 'open';
    });
    socket.addEventListener('message', (event) => {
      let row;
      try { row = JSON.parse(event.data); } catch (error) { return; }
      if (row && typeof row.id === 'string') show(row);
    });
    socket.addEventListener('close', () => {
      table.dataset.liveState = 'closed';
      if (openedAt && Date.now() - openedAt >= STABLE_SOCKET_MS) backoffMs = BACKOFF_MS_MIN;
      const delay = backoffMs + Math.random() * backoffMs / 2;
      backoffMs = Math.min(backoffMs * 2, BACKOFF_MS_MAX);
      setTimeout(connect, delay);
    });
  }

  function show(row) {
    let tr = findRow(row.id);
    if (!tr) {
      if (!row.new || !prependNew) return;
      tr = newRow(row);
      body.insertBefore(tr, body.firstChild);
      while (body.rows.length > rowsMax) body.deleteRow(-1);
    }
    setText(tr, 'wallet', row.wallet_display);
    setStatus(tr, row);
    tr.classList.remove('updated');
    void tr.offsetWidth; // restart the highlight
    tr.classList.add('updated');
    if (announcer) announcer.textContent = row.id + ': ' + row.status_label;
  }

  function findRow(id) {
    for (const tr of body.rows) {
      if (tr.dataset.paymentId === id) return tr;
    }
    return null;
  }

  function newRow(row) {
    const tr = document.createElement('tr');
    tr.dataset.paymentId = row.id;
    tr.appendChild(cell('created', row.created_at_display));
    const link = document.createElement('a');
    link.href = '/dashboard/payments/' + encodeURIComponent(row.id);
    const code = document.createElement('code');
    code.textContent = row.id;
    link.appendChild(code);
    tr.appendChild(cell('id', '')).appendChild(link);
    tr.appendChild(cell('order', row.order_id));
    tr.appendChild(cell('wallet', row.wallet_display));
    tr.appendChild(cell('amount', row.amount_display)).className = 'num';
    tr.appendChild(cell('status', ''));
    return tr;
  }

  function cell(name, text) {
    const td = document.createElement('td');
    td.dataset.cell = name;
    td.textContent = text;
    return td;
  }

  function setText(tr, name, text) {
    const td = tr.querySelector('td[data-cell="' + name + '"]');
    if (td && typeof text === 'string') td.textContent = text;
  }

  function setStatus(tr, row) {
    const td = tr.querySelector('td[data-cell="status"]');
    if (!td) return;
    let badge = td.querySelector('span.status');
    if (!badge) {
      td.textContent = '';
      badge = td.appendChild(document.createElement('span'));
    }
    badge.className = 'status status-' + String(row.status).replace(/[^a-z_]/g, '');
    badge.textContent = row.status_label;
  }

  connect();
})();
