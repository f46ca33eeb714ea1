/* Kopek's hosted payment page (/pay/<id>#<client secret>, templates/hosted.html).
 * Reads the client secret from the URL fragment (never sent to a server), mounts the widget,
 * and once the payment is over sends the shopper to /pay/<id>/return, which redirects to the
 * shop's return_url (built and checked on the server). */
(() => {
  'use strict';

  const TERMINAL = ['succeeded', 'failed', 'canceled', 'expired'];
  const RETURN_DELAY_MS = 1500; // long enough to read "Payment successful"
  const page = document.body.dataset;
  const paymentId = page.paymentId;
  const storageKey = 'kopek:secret:' + paymentId;
  const container = document.getElementById('pay');
  let leaving = false;

  if (page.view === 'checkout' && container) start(takeSecret());

  // The fragment is read once and dropped from the address bar. The tab keeps the secret in
  // sessionStorage, so a reload, or a wallet sending the shopper back here, still works.
  function takeSecret() {
    if (location.hash.length > 1) {
      const secret = decode(location.hash.slice(1));
      history.replaceState(history.state, '', location.pathname + location.search);
      if (isSecret(secret)) remember(secret);
      return secret;
    }
    try {
      return sessionStorage.getItem(storageKey) || '';
    } catch (error) {
      return '';
    }
  }

  async function start(secret) {
    if (!isSecret(secret) || !(await accepted(secret))) {
      show('incomplete');
      document.getElementById('pay-section').hidden = true;
      return;
    }
    if (!window.Kopek) {
      show('load-failed');
      return;
    }
    for (const name of TERMINAL) container.addEventListener('kopek:' + name, finished);
    window.Kopek.mount(container, {clientSecret: secret, locale: page.locale});
  }

  // A secret of the right shape but the wrong value is an incomplete link too, not "error 401".
  async function accepted(secret) {
    try {
      const response = await fetch('/v1/checkout/' + encodeURIComponent(paymentId), {
        headers: {'Accept': 'application/json', 'Kopek-Client-Secret': secret}, credentials: 'omit', cache: 'no-store',
      });
      return ![401, 403, 404].includes(response.status);
    } catch (error) {
      return true; // a network problem: the widget shows it and retries
    }
  }

  function finished() {
    if (page.hasReturn !== 'true' || leaving) return;
    leaving = true;
    show('returning');
    setTimeout(() => location.assign('/pay/' + encodeURIComponent(paymentId) + '/return'), RETURN_DELAY_MS);
  }

  function isSecret(value) {
    return typeof value === 'string' && value.length <= 200 && value.startsWith(paymentId + '_secret_') &&
      /^[A-Za-z0-9_]+$/.test(value);
  }

  function remember(secret) {
    try {
      sessionStorage.setItem(storageKey, secret);
    } catch (error) {
      // Storage is off: the page works until it is reloaded.
    }
  }

  function decode(text) {
    try {
      return decodeURIComponent(text);
    } catch (error) {
      return '';
    }
  }

  function show(id) {
    document.getElementById(id).hidden = false;
  }
})();
