/* Sandbox console (/sandbox): keeps three panels live by polling Kopek once a second.
 * - the sandbox phone: codes sent for this payment (/sandbox/phone.json?payment=…) -> #phone-codes
 * - the payment's state and approval link (/sandbox/payments/{id}/state.json) -> #payment-status, #approval-link
 * - the built-in webhook receiver (/sandbox/webhooks.json) -> #webhooks-rows
 * The page works without this file: the server renders every panel once. */
(() => {
  'use strict';

  const INTERVAL_MS = 1000;
  const MAX_BACKOFF_MS = 15000;
  const STOP_AFTER_MS = 30 * 60 * 1000;   // a forgotten tab stops asking after half an hour
  const TERMINAL = ['succeeded', 'failed', 'canceled', 'expired'];

  const root = document.getElementById('console');
  if (!root) return;
  const started = Date.now();
  const data = root.dataset;

  let paymentOver = false;   // then the phone and the state stop changing
  let lastPhoneSeen = Math.max(0, ...Array.from(document.querySelectorAll('#phone-codes li'),
    (item) => Number(item.dataset.sentAt) || 0));   // sent_at of the newest code shown

  poll(data.phoneUrl, renderPhone, () => paymentOver);
  poll(data.stateUrl, renderState, () => paymentOver);
  poll(data.webhooksUrl, renderWebhooks, () => false);

  /* One loop per endpoint: waits while the tab is hidden, backs off on errors, stops on 4xx. */
  function poll(url, render, finished) {
    if (!url) return;
    let delay = INTERVAL_MS;
    const tick = async () => {
      if (Date.now() - started > STOP_AFTER_MS) return;
      if (document.hidden) {
        document.addEventListener('visibilitychange', tick, {once: true});
        return;
      }
      try {
        const response = await fetch(url, {headers: {Accept: 'application/json'}, credentials: 'same-origin'});
        if (response.status >= 400 && response.status < 500) return;
        if (!response.ok) throw new Error('HTTP ' + response.status);
        render(await response.json());
        delay = INTERVAL_MS;
      } catch (error) {
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
      if (!finished()) setTimeout(tick, delay);
    };
    tick();
  }

  function renderPhone(body) {
    const list = document.getElementById('phone-codes');
    const messages = (body.data || []).filter((m) => m.sent_at > lastPhoneSeen);
    if (!list || !messages.length) return;
    lastPhoneSeen = Math.max(...messages.map((m) => m.sent_at));
    const to = list.dataset.labelTo || 'to';
    for (const message of messages.reverse()) {   // oldest of the new ones first, so the newest ends on top
      const item = document.createElement('li');
      item.dataset.code = message.code;
      item.dataset.sentAt = String(message.sent_at);
      const code = document.createElement('strong');
      code.textContent = message.code;
      item.append(code, ' · ' + message.wallet + ' · ' + to + ' ' + message.to + ' · ' + time(message.sent_at * 1000));
      list.prepend(item);
    }
    show('phone-empty', false);
  }

  function renderState(body) {
    const status = document.getElementById('payment-status');
    if (status && status.textContent !== body.status) {
      status.textContent = body.status;
      status.className = 'status status-' + body.status;
    }
    const link = document.getElementById('approval-link');
    if (link) {
      const url = body.next_action_type === 'approve_in_wallet' ? body.next_action_url : null;
      if (url) link.href = url; else link.removeAttribute('href');
      link.hidden = !url;
    }
    paymentOver = TERMINAL.includes(body.status);
  }

  /* Only new rows are added (on top), so the live region announces what arrived, not the whole list. */
  function renderWebhooks(body) {
    const rows = document.getElementById('webhooks-rows');
    const table = document.getElementById('webhooks-table');
    if (!rows || !table) return;
    const items = body.data || [];
    const newest = rows.firstElementChild ? rows.firstElementChild.dataset.receivedAt : null;
    let added = items.findIndex((item) => item.received_at === newest);
    if (added === -1) added = items.length;
    const fresh = items.slice(0, added).map((item) => webhookRow(item, table.dataset));
    fresh.forEach((row) => row.classList.add('updated'));
    rows.prepend(...fresh);
    while (rows.children.length > items.length) rows.lastElementChild.remove();
    show('webhooks-empty', !items.length);
  }

  function webhookRow(item, labels) {
    const row = document.createElement('tr');
    row.dataset.webhookId = item.webhook_id || '';
    row.dataset.verified = String(item.verified);
    row.dataset.receivedAt = item.received_at;
    const badge = document.createElement('span');
    badge.className = 'status ' + (item.verified ? 'status-succeeded' : 'status-failed');
    badge.textContent = item.verified ? labels.labelVerified : labels.labelInvalid;
    row.append(cell(time(Date.parse(item.received_at)) || item.received_at), cell(item.type || '—'),
      cell(item.payment_id || '—', true), cell(item.webhook_id || '—', true), cell(badge));
    return row;
  }

  function cell(content, asCode) {
    const td = document.createElement('td');
    if (asCode) {
      const code = document.createElement('code');
      code.textContent = content;
      td.append(code);
    } else {
      td.append(content);
    }
    return td;
  }

  function time(ms) {
    const when = new Date(ms);
    return isNaN(when) ? '' : when.toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
  }

  function show(id, visible) {
    const node = document.getElementById(id);
    if (node) node.hidden = !visible;
  }
})();
