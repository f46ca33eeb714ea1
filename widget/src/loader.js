/*! Kopek loader v1: mounts the checkout iframe served from Kopek's origin.
 * Messages follow the README ("The widget"): {kopek: 1, type, ...}, exact origins both ways. */
(() => {
  'use strict';

  const EVENTS = ['ready', 'status', 'succeeded', 'failed', 'canceled', 'expired'];
  // Reserve this much from the start: every screen of the checkout fits, so the shop page does not move.
  const HEIGHT = 760;
  const REVEAL_AFTER_MS = 15000; // show the frame even if it never says "ready" (e.g. blocked)

  const script = document.currentScript || document.querySelector('script[src*="/v1/kopek.js"]');
  if (!window.Kopek) window.Kopek = createKopek(new URL(script.src).origin);
  autoMount(script.dataset);

  function autoMount(data) {
    if (!data.clientSecret || !data.target) return;
    const run = () => window.Kopek.mount(data.target, {clientSecret: data.clientSecret, locale: data.locale});
    if (document.readyState === 'loading' && !document.querySelector(data.target)) {
      document.addEventListener('DOMContentLoaded', run, {once: true});
    } else {
      run();
    }
  }

  function createKopek(kopekOrigin) {
    const mounts = new WeakMap(); // container -> {handle, clientSecret}

    function mount(target, options = {}) {
      const container = typeof target === 'string' ? document.querySelector(target) : target;
      if (!container) throw new Error('Kopek: no element for ' + target);
      const clientSecret = String(options.clientSecret || '');
      const cut = clientSecret.indexOf('_secret_');
      if (cut < 1) throw new Error('Kopek: clientSecret must look like pay_..._secret_...');

      const existing = mounts.get(container);
      if (existing && existing.clientSecret === clientSecret) return existing.handle;
      if (existing) existing.handle.destroy();

      const handle = createMount(container, clientSecret.slice(0, cut), clientSecret, options,
        () => mounts.delete(container));
      mounts.set(container, {handle, clientSecret});
      return handle;
    }

    function createMount(container, paymentId, clientSecret, options, forget) {
      const locale = pickLocale(options.locale);
      const callbacks = {};
      const box = element('div', {position: 'relative'});
      const skeleton = buildSkeleton();
      const frame = element('iframe', {
        display: 'block', width: '100%', height: HEIGHT + 'px', border: '0', visibility: 'hidden',
      });
      frame.title = locale === 'ru' ? 'Оплата' : 'Payment';
      frame.setAttribute('allow', 'payment');
      // The client secret never goes into a URL: the frame receives it by postMessage ("init").
      frame.src = kopekOrigin + '/v1/checkout/' + encodeURIComponent(paymentId) + '/frame?origin=' +
        encodeURIComponent(location.origin) + '&locale=' + locale;

      let height = HEIGHT; // grows when a screen needs more room, and never shrinks
      const revealTimer = setTimeout(reveal, REVEAL_AFTER_MS);
      window.addEventListener('message', onMessage);
      box.append(frame, skeleton);
      container.append(box);

      function onMessage(event) {
        const data = event.data;
        if (event.origin !== kopekOrigin || event.source !== frame.contentWindow) return;
        if (!data || data.kopek !== 1) return;
        if (data.type === 'loaded') {
          const init = {kopek: 1, type: 'init', clientSecret, locale, appearance: options.appearance || null};
          frame.contentWindow.postMessage(init, kopekOrigin);
        } else if (data.type === 'resize') {
          if (data.height > height) frame.style.height = (height = Math.ceil(data.height)) + 'px';
        } else if (data.type === 'redirect') {
          // On Kopek's own hosted page, come back to it: it sends the shopper on with the result.
          redirect(data.url, location.origin === kopekOrigin ? '' : data.returnUrl);
        } else if (EVENTS.includes(data.type)) {
          if (data.type === 'ready') reveal();
          emit(data.type, data);
        }
      }

      function emit(name, data) {
        const payment = data.payment;
        const detail = {
          paymentId, status: data.status || (payment && payment.status), seq: data.seq, payment, error: data.error,
        };
        container.dispatchEvent(new CustomEvent('kopek:' + name, {bubbles: true, detail}));
        for (const fn of (callbacks[name] || []).slice()) {
          try {
            fn.call(handle, detail);
          } catch (error) {
            setTimeout(() => { throw error; }); // report it without stopping the other callbacks
          }
        }
      }

      function reveal() {
        clearTimeout(revealTimer);
        skeleton.remove();
        frame.style.visibility = 'visible';
      }

      const handle = {
        on(name, fn) {
          (callbacks[name] = callbacks[name] || []).push(fn);
          return handle;
        },
        off(name, fn) {
          callbacks[name] = (callbacks[name] || []).filter((f) => f !== fn);
          return handle;
        },
        destroy() {
          clearTimeout(revealTimer);
          window.removeEventListener('message', onMessage);
          box.remove();
          forget();
        },
      };
      return handle;
    }

    return {version: 1, mount};
  }

  // The frame's "Continue in this window": the whole page goes to the wallet, which sends the
  // shopper back to `return` (the payment's return_url, else this page).
  function redirect(url, returnUrl) {
    if (!isWebUrl(url)) return;
    const returnTo = isWebUrl(returnUrl) ? returnUrl : location.href;
    const hash = url.indexOf('#');
    const base = hash < 0 ? url : url.slice(0, hash);
    location.assign(base + (base.includes('?') ? '&' : '?') + 'return=' + encodeURIComponent(returnTo) +
      (hash < 0 ? '' : url.slice(hash)));
  }

  function isWebUrl(value) {
    try {
      return typeof value === 'string' && /^https?:$/.test(new URL(value).protocol);
    } catch (error) {
      return false;
    }
  }

  function pickLocale(explicit) {
    return String(explicit || navigator.language || '').toLowerCase().startsWith('ru') ? 'ru' : 'en';
  }

  function element(tag, style) {
    const el = document.createElement(tag);
    Object.assign(el.style, style);
    return el;
  }

  // Grey bars where the form will be, so the page does not jump while the frame loads.
  function buildSkeleton() {
    const skeleton = element('div', {
      position: 'absolute', top: '0', left: '0', right: '0', bottom: '0', padding: '16px', boxSizing: 'border-box',
    });
    skeleton.setAttribute('aria-hidden', 'true');
    for (const [width, height] of [['40%', 20], ['100%', 44], ['100%', 44], ['60%', 44]]) {
      skeleton.append(element('div', {
        width, height: height + 'px', marginBottom: '16px', borderRadius: '8px', background: 'rgba(128,128,128,.18)',
      }));
    }
    const still = window.matchMedia && matchMedia('(prefers-reduced-motion: reduce)').matches;
    if (skeleton.animate && !still) {
      skeleton.animate([{opacity: 1}, {opacity: 0.5}], {duration: 900, iterations: Infinity, direction: 'alternate'});
    }
    return skeleton;
  }
})();
