/*! Kopek checkout frame: runs inside the iframe on Kopek's origin (templates/checkout.html).
 * Talks to the loader by postMessage and to /v1/checkout/<id> over HTTP and a websocket,
 * as the README ("The widget") describes. Builds every node with createElement/textContent. */
(() => {
  'use strict';

  const STRINGS = {
    en: {
      walletHeading: 'Pay with an e-wallet',
      walletLegend: 'Wallet',
      noWallets: 'No wallet can take this payment.',
      pay: 'Pay {amount}',
      cancel: 'Cancel',
      required: 'Fill in this field.',
      badFormat: 'Check the format.',
      codeHeading: 'Enter the code',
      codeSent: '{wallet} sent a code to {to}.',
      codeSentSomewhere: '{wallet} sent you a code.',
      codeLabel: 'Confirmation code',
      codeInvalid: 'Enter the {n}-digit code.',
      triesLeft: 'Tries left: {n}',
      incorrectCode: 'Incorrect code. Tries left: {n}.',
      confirm: 'Confirm',
      approveHeading: 'Approve in your wallet',
      approveText: 'Approve the payment in {wallet}. This page updates by itself.',
      openWallet: 'Open {wallet}',
      continueHere: 'Continue in this window',
      popupBlocked: 'Your browser blocked the wallet window.',
      resend: 'Send the code again',
      resendIn: 'Send again in {time}',
      codeResent: 'Code sent again.',
      resendLimit: 'The code cannot be sent again.',
      showPin: 'Show PIN',
      unavailable: 'Temporarily unavailable',
      processingHeading: 'Processing payment',
      processingText: 'Processing, this can take a few minutes.',
      elapsed: 'Elapsed: {time}',
      retryHeading: 'Payment did not go through',
      attemptsLeft: 'Attempts left: {n}',
      tryAnother: 'Try another wallet',
      succeededHeading: 'Payment successful',
      succeededText: '{amount} paid.',
      failedHeading: 'Payment failed',
      failedText: 'The payment could not be completed.',
      canceledHeading: 'Payment canceled',
      canceledText: 'No money was taken.',
      expiredHeading: 'Payment expired',
      expiredText: 'The time to pay ran out. Return to the shop to start again.',
      errorHeading: 'Checkout unavailable',
      notFramed: 'Open this checkout from the shop’s page.',
      noInit: 'Could not connect to the shop’s page. Reload it and try again.',
      network: 'Network problem. Check your connection and try again.',
      generic: 'Something went wrong. Try again.',
      retry: 'Try again',
      yourWallet: 'Your wallet',
    },
    ru: {
      walletHeading: 'Оплата электронным кошельком',
      walletLegend: 'Кошелёк',
      noWallets: 'Нет кошельков, которые принимают этот платёж.',
      pay: 'Оплатить {amount}',
      cancel: 'Отменить',
      required: 'Заполните это поле.',
      badFormat: 'Проверьте формат.',
      codeHeading: 'Введите код',
      codeSent: 'Код от {wallet} отправлен на {to}.',
      codeSentSomewhere: '{wallet} отправил вам код.',
      codeLabel: 'Код подтверждения',
      codeInvalid: 'Введите код из {n} цифр.',
      triesLeft: 'Осталось попыток: {n}',
      incorrectCode: 'Неверный код. Осталось попыток: {n}.',
      confirm: 'Подтвердить',
      approveHeading: 'Подтвердите в кошельке',
      approveText: 'Подтвердите платёж в {wallet}. Страница обновится сама.',
      openWallet: 'Открыть {wallet}',
      continueHere: 'Продолжить в этом окне',
      popupBlocked: 'Браузер заблокировал окно кошелька.',
      resend: 'Отправить код ещё раз',
      resendIn: 'Отправить снова через {time}',
      codeResent: 'Код отправлен ещё раз.',
      resendLimit: 'Код больше нельзя отправить повторно.',
      showPin: 'Показать PIN',
      unavailable: 'Временно недоступен',
      processingHeading: 'Платёж обрабатывается',
      processingText: 'Обработка может занять несколько минут.',
      elapsed: 'Прошло: {time}',
      retryHeading: 'Платёж не прошёл',
      attemptsLeft: 'Осталось попыток: {n}',
      tryAnother: 'Попробовать другой кошелёк',
      succeededHeading: 'Оплата прошла успешно',
      succeededText: 'Оплачено {amount}.',
      failedHeading: 'Оплата не прошла',
      failedText: 'Платёж не удалось провести.',
      canceledHeading: 'Оплата отменена',
      canceledText: 'Деньги не списаны.',
      expiredHeading: 'Время на оплату истекло',
      expiredText: 'Вернитесь в магазин, чтобы начать заново.',
      errorHeading: 'Оплата недоступна',
      notFramed: 'Откройте оплату со страницы магазина.',
      noInit: 'Не удалось связаться со страницей магазина. Обновите её и попробуйте снова.',
      network: 'Проблема с сетью. Проверьте подключение и попробуйте снова.',
      generic: 'Что-то пошло не так. Попробуйте снова.',
      retry: 'Попробовать снова',
      yourWallet: 'Ваш кошелёк',
    },
  };

  // Why an attempt failed, by last_error.code; else the server's message.
  const REASONS = {
    en: {
      declined: 'The wallet declined the payment.',
      insufficient_funds: 'There is not enough money in the wallet.',
      wallet_not_found: 'No such wallet.',
      code_attempts_exceeded: 'Too many wrong codes.',
      provider_error: 'The wallet is not answering. Try again or choose another wallet.',
      provider_timeout: 'The wallet did not answer in time.',
      incorrect_pin: 'Wrong PIN.',
    },
    ru: {
      declined: 'Кошелёк отклонил платёж.',
      insufficient_funds: 'В кошельке недостаточно денег.',
      wallet_not_found: 'Такого кошелька нет.',
      code_attempts_exceeded: 'Слишком много неверных кодов.',
      provider_error: 'Кошелёк не отвечает. Попробуйте ещё раз или выберите другой кошелёк.',
      provider_timeout: 'Кошелёк не ответил вовремя.',
      incorrect_pin: 'Неверный PIN-код.',
    },
  };

  const TERMINAL = ['succeeded', 'failed', 'canceled', 'expired'];
  const INIT_TIMEOUT_MS = 10000;
  const POLL_MS = 2000;
  const MAX_BACKOFF_S = 30;
  const STABLE_SOCKET_MS = 10000; // a socket that lived this long resets the backoff

  const page = document.body.dataset;
  const paymentId = page.paymentId;
  const parentOrigin = page.parentOrigin;
  const root = document.getElementById('kopek-checkout');
  const screenHolder = document.getElementById('kopek-screen');
  const statusRegion = document.getElementById('kopek-status');

  const state = {
    locale: page.locale === 'ru' ? 'ru' : 'en',
    secret: null,            // the client secret: kept in memory only, sent in a header
    payment: null,
    wallets: [],
    walletId: null,
    lastSeq: 0,              // newest event seq seen, from any source
    httpGen: 0,              // bumps on every HTTP answer that carries a payment
    busy: false,             // one request that changes the payment at a time
    attemptKey: null,        // Idempotency-Key; reused only to resend the same details after a network error
    attemptFingerprint: null,
    retryDismissed: false,   // the shopper has read the last error and chose "Try another wallet"
    notice: '',              // an error to show when the payment view carries no last_error
    processingSince: 0,
    terminalTold: false,
    screenKey: '',
    screenTimer: 0,
    fieldRows: [],
    syncing: false,
    resync: false,
    toldHeight: 0,           // the height last told to the loader
    loading: false,          // GET /v1/checkout/{id} in flight (when the socket could not bring the state)
    initTimer: 0,
    popup: null,             // the approval window opened on Pay
    popupNavigated: false,
    popupBlocked: false,
    resend: null,            // the code screen's resend control
  };

  const live = {started: false, stopped: false, socket: null, openedAt: 0, retryDelay: 1, retryTimer: 0, pollTimer: 0};

  start();

  // ---- startup and the loader handshake

  function start() {
    document.documentElement.lang = state.locale;
    watchHeight();
    if (window.parent === window) {
      showFatal(t('notFramed'));
      return;
    }
    window.addEventListener('message', onParentMessage);
    state.initTimer = setTimeout(() => showFatal(t('noInit')), INIT_TIMEOUT_MS);
    tell('loaded');
  }

  function onParentMessage(event) {
    const data = event.data;
    if (event.origin !== parentOrigin || event.source !== window.parent) return;
    if (!data || data.kopek !== 1 || data.type !== 'init' || state.secret) return;
    if (typeof data.clientSecret !== 'string' || !data.clientSecret.startsWith(paymentId + '_secret_')) return;
    clearTimeout(state.initTimer);
    state.secret = data.clientSecret;
    if (data.locale === 'ru' || data.locale === 'en') state.locale = data.locale;
    document.documentElement.lang = state.locale;
    applyAppearance(data.appearance);
    startLive(); // the socket's first message is the checkout state; loadPayment() is the fallback
  }

  function tell(type, fields) {
    try {
      window.parent.postMessage(Object.assign({kopek: 1, type}, fields), parentOrigin);
    } catch (error) {
      // An unusable parent origin: nothing to tell.
    }
  }

  function applyAppearance(appearance) {
    const variables = appearance && appearance.variables;
    if (!variables || typeof variables !== 'object') return;
    for (const [name, value] of Object.entries(variables)) {
      if (typeof value !== 'string' && typeof value !== 'number') continue;
      const property = name.startsWith('--') ? name : '--kopek-' + name;
      if (property.startsWith('--kopek-')) document.documentElement.style.setProperty(property, String(value));
    }
  }

  async function loadPayment() {
    if (state.loading) return;
    state.loading = true;
    let result;
    try {
      result = await api('GET', '');
    } catch (error) {
      showFatal(t('network'), loadPayment);
      return;
    } finally {
      state.loading = false;
    }
    if (!result.ok) {
      showFatal(result.error.message || t('generic'));
      return;
    }
    applyState(result.data);
  }

  // The checkout state, from the socket or from GET /v1/checkout/{id}, whichever comes first.
  function applyState({payment, wallets, seq}) {
    if (state.payment || !payment) return;
    state.wallets = Array.isArray(wallets) ? wallets : [];
    state.lastSeq = Number(seq) || 0;
    state.payment = payment;
    state.walletId = defaultWalletId(payment);
    if (payment.status === 'processing') state.processingSince = Date.now();
    render();
    reportHeight(); // before ready: the loader reveals the frame at its final height
    tell('ready', {payment: {id: payment.id, status: payment.status, amount: payment.amount, currency: payment.currency}});
    if (isTerminal(payment)) {
      tellTerminal(payment);
      stopLive();
    } else {
      startLive();
    }
  }

  // ---- HTTP

  async function api(method, path, body, idempotencyKey) {
    const headers = {
      'Accept': 'application/json',
      'Accept-Language': state.locale,
      'Kopek-Client-Secret': state.secret,
    };
    if (body) headers['Content-Type'] = 'application/json';
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    const response = await fetch('/v1/checkout/' + encodeURIComponent(paymentId) + path, {
      method, headers, body: body ? JSON.stringify(body) : undefined, credentials: 'omit', cache: 'no-store',
    });
    const data = (await response.json().catch(() => null)) || {};
    return {ok: response.ok, status: response.status, data, error: data.error || {}};
  }

  // Runs one request that changes the payment; the button is disabled while it is in flight.
  // Returns null after a network error (already shown in `alert`).
  async function mutate(button, alert, method, path, body, idempotencyKey) {
    if (state.busy) return null;
    state.busy = true;
    setBusy(button, true);
    showAlert(alert, '');
    try {
      return await api(method, path, body, idempotencyKey);
    } catch (error) {
      showAlert(alert, t('network'));
      return null;
    } finally {
      state.busy = false;
      setBusy(button, false);
    }
  }

  function setBusy(button, busy) {
    button.disabled = busy;
    button.setAttribute('aria-busy', String(busy));
    if (!busy && button.isConnected && document.activeElement === document.body) button.focus();
  }

  async function refreshPayment() {
    try {
      const result = await api('GET', '');
      if (!result.ok) return;
      if (Array.isArray(result.data.wallets)) state.wallets = result.data.wallets;
      applyFromHttp(result.data.payment);
    } catch (error) {
      // The live stream will catch up.
    }
  }

  // Not crypto.randomUUID: it needs a secure context.
  function newIdempotencyKey() {
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // ---- what the frame knows about the payment

  // An HTTP answer: show it at once, then catch up with the event stream so that the shop
  // hears every status (with its seq) before the terminal message.
  async function applyFromHttp(payment) {
    if (!payment) return;
    state.httpGen += 1;
    showPayment(payment, false);
    await syncEvents();
    if (isTerminal(state.payment)) tellTerminal(state.payment);
  }

  function acceptEvent(seq, event, show) {
    seq = Number(seq);
    if (!(seq > state.lastSeq) || !event || !event.payment || state.terminalTold) return;
    state.lastSeq = seq;
    tell('status', {status: event.payment.status, seq, payment: event.payment});
    // A final state is shown at once, even from a poll: it never changes again, and its event
    // may be the last one this frame will hear.
    if (show || isTerminal(event.payment)) showPayment(event.payment, true);
  }

  function showPayment(payment, tellIfTerminal) {
    if (!payment || isTerminal(state.payment)) return; // a finished payment never changes again
    if (payment.status === 'processing' && state.payment.status !== 'processing') state.processingSince = Date.now();
    state.payment = payment;
    if (isTerminal(payment)) {
      if (tellIfTerminal) tellTerminal(payment);
      stopLive();
    }
    render();
  }

  function tellTerminal(payment) {
    if (state.terminalTold) return;
    state.terminalTold = true;
    const message = {payment};
    if (payment.status === 'failed') message.error = payment.last_error || null;
    tell(payment.status, message);
  }

  function isTerminal(payment) {
    return Boolean(payment) && TERMINAL.includes(payment.status);
  }

  // ---- live status: websocket, backoff, polling fallback

  function startLive() {
    if (live.started) return;
    live.started = true;
    document.addEventListener('visibilitychange', onVisibilityChange);
    connectSocket();
  }

  function stopLive() {
    live.stopped = true;
    clearTimeout(live.retryTimer);
    stopPolling();
    if (live.socket) live.socket.close(1000);
    live.socket = null;
  }

  function connectSocket() {
    if (live.stopped || live.socket) return;
    clearTimeout(live.retryTimer);
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    let socket;
    try {
      socket = new WebSocket(scheme + location.host + '/v1/checkout/' + encodeURIComponent(paymentId) + '/live');
    } catch (error) {
      onSocketDown(0);
      return;
    }
    live.socket = socket;
    socket.addEventListener('open', () => {
      live.openedAt = Date.now();
      socket.send(JSON.stringify({type: 'auth', client_secret: state.secret, after: state.lastSeq,
        state: !state.payment}));
      stopPolling(); // the server replays everything after lastSeq
    });
    socket.addEventListener('message', (event) => onSocketMessage(event.data));
    socket.addEventListener('close', (event) => {
      if (live.socket !== socket) return;
      live.socket = null;
      onSocketDown(event.code);
    });
  }

  function onSocketMessage(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch (error) {
      return;
    }
    if (message && message.type === 'state') applyState(message);
    else if (message && message.type === 'event') acceptEvent(message.seq, message.event, true);
  }

  function onSocketDown(code) {
    if (live.stopped) return;
    if (!state.payment) loadPayment(); // over HTTP, which also shows why the socket was refused
    if (code === 4401) { // the secret was refused: polling would be refused too
      stopLive();
      return;
    }
    if (live.openedAt && Date.now() - live.openedAt > STABLE_SOCKET_MS) live.retryDelay = 1;
    live.openedAt = 0;
    startPolling();
    live.retryTimer = setTimeout(connectSocket, live.retryDelay * 1000);
    live.retryDelay = Math.min(live.retryDelay * 2, MAX_BACKOFF_S);
  }

  function onVisibilityChange() {
    if (document.visibilityState !== 'visible' || live.stopped || live.socket) return;
    live.retryDelay = 1;
    connectSocket();
    syncEvents();
  }

  function startPolling() {
    if (!live.pollTimer) live.pollTimer = setInterval(syncEvents, POLL_MS);
  }

  function stopPolling() {
    clearInterval(live.pollTimer);
    live.pollTimer = 0;
  }

  // Fetches missed events (polling fallback, and right after each HTTP change).
  async function syncEvents() {
    if (state.syncing) {
      state.resync = true;
      return;
    }
    state.syncing = true;
    try {
      do {
        state.resync = false;
        await syncOnce();
      } while (state.resync);
    } finally {
      state.syncing = false;
    }
  }

  async function syncOnce() {
    if (!state.payment) return; // nothing to bring up to date before the first state
    const httpGen = state.httpGen;
    const seqBefore = state.lastSeq;
    let result;
    try {
      result = await api('GET', '/events?after=' + seqBefore);
    } catch (error) {
      return;
    }
    if (!result.ok) {
      if (result.status === 401 || result.status === 404) stopLive();
      return;
    }
    const events = Array.isArray(result.data.data) ? result.data.data : [];
    let newest = seqBefore;
    for (const event of events) {
      newest = Math.max(newest, Number(event.seq) || 0);
      acceptEvent(event.seq, event, false); // statuses to the shop; the screen follows the final state
    }
    // Skip the snapshot if something newer arrived meanwhile (socket event or HTTP answer).
    if (httpGen === state.httpGen && state.lastSeq <= newest) showPayment(result.data.payment, true);
  }

  // ---- screens

  function screenFor(payment) {
    if (payment.status === 'requires_wallet') {
      return (payment.last_error || state.notice) && !state.retryDismissed ? 'retry' : 'wallet';
    }
    if (payment.status === 'requires_confirmation') {
      return payment.next_action && payment.next_action.type === 'enter_code' ? 'code' : 'approve';
    }
    return isTerminal(payment) ? payment.status : 'processing';
  }

  const SCREENS = {
    wallet: walletScreen,
    retry: retryScreen,
    code: codeScreen,
    approve: approveScreen,
    processing: processingScreen,
    succeeded: () => doneScreen('succeeded', t('succeededText', {amount: formatAmount(state.payment)})),
    failed: () => doneScreen('failed', errorMessage(t('failedText'))),
    canceled: () => doneScreen('canceled', t('canceledText')),
    expired: () => doneScreen('expired', t('expiredText')),
  };

  function render() {
    const payment = state.payment;
    const name = screenFor(payment);
    const error = payment.last_error ? payment.last_error.message : state.notice;
    const key = name + '|' + error + '|' + approveUrl();
    syncPopup(name);
    if (key === state.screenKey) {
      updateScreen(name);
      return;
    }
    state.screenKey = key;
    showScreen(SCREENS[name]());
  }

  // Same screen, newer data: change the few live bits in place, keep what the shopper typed.
  function updateScreen(name) {
    const tries = document.getElementById('kopek-code-tries');
    const action = state.payment.next_action;
    if (name === 'code' && tries && action && typeof action.tries_left === 'number') {
      tries.textContent = t('triesLeft', {n: action.tries_left});
    }
    if (name === 'code' && state.resend && action) setResendFrom(action);
  }

  function showScreen(screen) {
    const shopperIsHere = document.hasFocus();
    clearInterval(state.screenTimer);
    state.screenTimer = 0;
    state.resend = screen.resend || null;
    state.fieldRows = screen.rows || [];
    screenHolder.replaceChildren(screen.node);
    if (screen.tick) {
      screen.tick();
      state.screenTimer = setInterval(screen.tick, 1000);
    }
    // Move focus only inside a frame the shopper is using; otherwise just announce.
    if (shopperIsHere) {
      (screen.focus || screen.heading).focus();
      statusRegion.textContent = '';
    } else {
      statusRegion.textContent = screen.heading.textContent;
    }
  }

  function showFatal(message, retry) {
    state.screenKey = 'error';
    const screen = section('error', t('errorHeading'));
    screen.node.append(h('p', {className: 'kopek-error-message', text: message}));
    if (retry) {
      screen.node.append(h('button', {
        type: 'button', className: 'kopek-button kopek-button-primary', text: t('retry'), onclick: retry,
      }));
    }
    showScreen(screen);
  }

  function section(name, heading) {
    const headingNode = h('h1', {className: 'kopek-heading', tabindex: '-1', text: heading});
    const node = h('section', {className: 'kopek-screen', 'data-screen': name}, summary(), headingNode);
    return {node, heading: headingNode};
  }

  function summary() {
    const payment = state.payment;
    if (!payment) return null;
    return h('div', {className: 'kopek-summary'},
      payment.description ? h('p', {className: 'kopek-description', text: payment.description}) : null,
      h('p', {className: 'kopek-amount', text: formatAmount(payment)}));
  }

  function walletScreen() {
    const screen = section('wallet', t('walletHeading'));
    const alert = alertNode();
    const fieldsBox = h('div', {className: 'kopek-fields'});
    if (!usable(findWallet(state.walletId))) state.walletId = defaultWalletId(state.payment);
    if (!state.walletId) {
      const list = state.wallets.length ? walletChooser(fieldsBox) : null;
      screen.node.append(list, h('p', {text: t('noWallets')}), alert, cancelButton(alert));
      return screen;
    }
    const submit = h('button', {
      type: 'submit', className: 'kopek-button kopek-button-primary', id: 'kopek-pay',
      text: t('pay', {amount: formatAmount(state.payment)}),
    });
    const form = h('form', {
      className: 'kopek-form', novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        submitAttempt(submit, alert);
      },
    }, walletChooser(fieldsBox), fieldsBox, alert, submit);
    screen.rows = renderFields(fieldsBox);
    screen.node.append(form, cancelButton(alert));
    return screen;
  }

  function walletChooser(fieldsBox) {
    const fieldset = h('fieldset', {className: 'kopek-wallets'}, h('legend', {text: t('walletLegend')}));
    for (const wallet of state.wallets) {
      const off = !usable(wallet);
      const radio = h('input', {
        type: 'radio', name: 'wallet', value: wallet.id, id: 'kopek-wallet-' + safeId(wallet.id),
        checked: wallet.id === state.walletId, disabled: off,
        onchange: () => {
          state.walletId = wallet.id;
          state.fieldRows = renderFields(fieldsBox);
        },
      });
      fieldset.append(h('label', {className: 'kopek-wallet', 'data-wallet': wallet.id},
        radio, h('span', {text: localized(wallet.name) || wallet.id}),
        off ? h('span', {className: 'kopek-wallet-note', text: t('unavailable')}) : null));
    }
    return fieldset;
  }

  function renderFields(box) {
    const wallet = findWallet(state.walletId);
    const built = (wallet && Array.isArray(wallet.fields) ? wallet.fields : []).map(fieldRow);
    box.replaceChildren(...built.map((b) => b.node));
    return built.map((b) => b.row);
  }

  // One input, described only by the server's field description.
  function fieldRow(field) {
    const id = 'kopek-field-' + safeId(field.name);
    const hintText = localized(field.hint);
    const secret = field.type === 'password';
    const input = h('input', {
      id, name: field.name, type: inputType(field.type),
      inputmode: field.type === 'number' || (field.type !== 'tel' && digitsOnly(field.pattern)) ? 'numeric' : null,
      pattern: field.pattern || null,
      required: Boolean(field.required),
      placeholder: field.placeholder || null,
      autocomplete: secret ? 'off' : field.autocomplete || 'off',
      autocapitalize: 'off', spellcheck: 'false',
    });
    const hint = hintText ? h('p', {className: 'kopek-hint', id: id + '-hint', text: hintText}) : null;
    const error = h('p', {className: 'kopek-field-error', id: id + '-error', hidden: true});
    const row = {field, input, error, describedBy: hint ? [hint.id] : []};
    input.addEventListener('input', () => {
      if (input.getAttribute('aria-invalid') === 'true') setFieldError(row, validateField(field, fieldValue(row)));
    });
    setFieldError(row, '');
    const label = h('label', {for: id, text: localized(field.label) || field.name});
    const control = secret ? h('div', {className: 'kopek-secret'}, input, revealButton(input)) : input;
    return {row, node: h('div', {className: 'kopek-field'}, label, control, hint, error)};
  }

  function revealButton(input) {
    const button = h('button', {
      type: 'button', className: 'kopek-reveal', id: input.id + '-reveal', 'aria-controls': input.id,
      'aria-pressed': 'false', text: t('showPin'),
      onclick: () => {
        const show = input.type === 'password';
        input.type = show ? 'text' : 'password';
        button.setAttribute('aria-pressed', show);
      },
    });
    return button;
  }

  // e.g. "[0-9]{4}", "(?:\\d{4}|\\d{6})"
  function digitsOnly(pattern) {
    return Boolean(pattern) && !String(pattern).replace(/\[0-9\]|\\d|\{[\d,]+\}|\(\?:|[\d()+*?^$|]/g, '');
  }

  function inputType(type) {
    return ['text', 'tel', 'password', 'email'].includes(type) ? type : 'text'; // "number" keeps leading zeros as text
  }

  function fieldValue(row) {
    return row.field.type === 'password' ? row.input.value : row.input.value.trim();
  }

  function validateField(field, value) {
    if (!value) return field.required ? t('required') : '';
    if (field.pattern) {
      let pattern = null;
      try {
        pattern = new RegExp('^(?:' + field.pattern + ')$'); // server patterns are unanchored
      } catch (error) {
        return ''; // the server validates anyway
      }
      if (!pattern.test(value)) return t('badFormat');
    }
    return '';
  }

  function setFieldError(row, message) {
    row.error.textContent = message;
    row.error.hidden = !message;
    row.input.setAttribute('aria-invalid', message ? 'true' : 'false');
    const ids = message ? row.describedBy.concat(row.error.id) : row.describedBy;
    if (ids.length) row.input.setAttribute('aria-describedby', ids.join(' '));
    else row.input.removeAttribute('aria-describedby');
  }

  async function submitAttempt(button, alert) {
    if (state.busy) return;
    const wallet = findWallet(state.walletId);
    if (!usable(wallet)) return;
    const details = {};
    let firstInvalid = null;
    for (const row of state.fieldRows) {
      const value = fieldValue(row);
      const message = validateField(row.field, value);
      setFieldError(row, message);
      if (value) details[row.field.name] = value;
      if (message && !firstInvalid) firstInvalid = row.input;
    }
    if (firstInvalid) {
      firstInvalid.focus();
      return;
    }
    const fingerprint = JSON.stringify([state.walletId, details]);
    if (fingerprint !== state.attemptFingerprint) {
      state.attemptKey = newIdempotencyKey();
      state.attemptFingerprint = fingerprint;
    }
    // Inside the click, or the browser blocks the popup.
    if (wallet.confirmation === 'approve_in_wallet') openPopup();
    const result = await mutate(button, alert, 'POST', '/attempts', {wallet: state.walletId, details}, state.attemptKey);
    if (!result || !result.ok) closePopup();
    if (!result) return;
    state.attemptFingerprint = null;
    if (result.ok) {
      state.retryDismissed = false;
      state.notice = '';
      applyFromHttp(result.data.payment);
    } else if (result.status === 409) {
      refreshPayment();
    } else {
      showServerErrors(result.error, alert);
    }
  }

  function showServerErrors(error, alert) {
    const fields = error.fields || {};
    const unplaced = [];
    let firstInvalid = null;
    for (const [name, messages] of Object.entries(fields)) {
      const text = [].concat(messages).join(' ');
      const row = state.fieldRows.find((r) => r.field.name === name);
      if (!row) {
        unplaced.push(text);
        continue;
      }
      setFieldError(row, text);
      if (!firstInvalid) firstInvalid = row.input;
    }
    if (unplaced.length || !firstInvalid) showAlert(alert, unplaced.join(' ') || error.message || t('generic'));
    if (firstInvalid) firstInvalid.focus();
  }

  function retryScreen() {
    const payment = state.payment;
    const screen = section('retry', t('retryHeading'));
    screen.node.append(h('p', {className: 'kopek-error-message', text: errorMessage(t('generic'))}));
    if (typeof payment.attempts_left === 'number') {
      screen.node.append(h('p', {className: 'kopek-hint', text: t('attemptsLeft', {n: payment.attempts_left})}));
    }
    const alert = alertNode();
    const again = h('button', {
      type: 'button', className: 'kopek-button kopek-button-primary', text: t('tryAnother'),
      onclick: () => {
        state.retryDismissed = true;
        state.notice = '';
        render();
      },
    });
    screen.node.append(alert, again, cancelButton(alert));
    return screen;
  }

  function codeScreen() {
    const payment = state.payment;
    const action = payment.next_action;
    const wallet = findWallet(payment.wallet);
    const length = Number(action.code_length || (wallet && wallet.code_length)) || 6;
    const walletName = localized(wallet && wallet.name) || payment.wallet || t('yourWallet');
    const screen = section('code', t('codeHeading'));
    const sentText = action.sent_to ? t('codeSent', {wallet: walletName, to: action.sent_to}) : t('codeSentSomewhere', {wallet: walletName});
    const sent = h('p', {id: 'kopek-code-sent', text: sentText});
    const tries = h('p', {
      id: 'kopek-code-tries', className: 'kopek-hint',
      text: typeof action.tries_left === 'number' ? t('triesLeft', {n: action.tries_left}) : '',
    });
    const input = h('input', {
      id: 'kopek-code', name: 'code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code',
      maxlength: length, pattern: '[0-9]{' + length + '}', required: true, spellcheck: 'false',
    });
    const error = h('p', {className: 'kopek-field-error', id: 'kopek-code-error', hidden: true});
    const row = {field: {name: 'code'}, input, error, describedBy: [sent.id, tries.id]};
    setFieldError(row, '');
    input.addEventListener('input', () => {
      if (input.getAttribute('aria-invalid') === 'true') setFieldError(row, '');
    });
    const alert = alertNode();
    const submit = h('button', {type: 'submit', className: 'kopek-button kopek-button-primary', id: 'kopek-confirm', text: t('confirm')});
    const form = h('form', {
      className: 'kopek-form', novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        submitCode(row, length, submit, alert);
      },
    }, h('div', {className: 'kopek-field'}, h('label', {for: input.id, text: t('codeLabel')}), input, error), tries, alert, submit);
    screen.node.append(sent, form);
    if (action.can_resend === true) {
      const resend = screen.resend = {until: 0, done: false};
      resend.button = h('button', {
        type: 'button', className: 'kopek-button kopek-button-secondary', id: 'kopek-resend',
        onclick: () => resendCode(resend, input, alert),
      });
      setResendFrom(action, resend);
      screen.tick = () => tickResend(resend);
      screen.node.append(resend.button);
    }
    screen.node.append(cancelButton(alert));
    screen.rows = [row];
    screen.focus = input;
    return screen;
  }

  function setResendFrom(action, resend = state.resend) {
    if (action.can_resend !== true) resend.done = true;
    const at = Date.parse(action.resend_available_at);
    resend.until = Number.isFinite(at) ? at : 0;
    tickResend(resend);
  }

  function tickResend(resend) {
    const button = resend.button;
    const left = Math.ceil((resend.until - Date.now()) / 1000);
    button.textContent = left > 0 ? t('resendIn', {time: formatElapsed(left * 1000)}) : t('resend');
    button.hidden = resend.done;
    button.disabled = left > 0 || state.busy;
  }

  async function resendCode(resend, input, alert) {
    const result = await mutate(resend.button, alert, 'POST', '/resend', {});
    if (!result) return;
    const error = result.error;
    if (result.ok) {
      applyFromHttp(result.data.payment); // a new resend_available_at
      announce(t('codeResent'));
    } else if (error.code === 'resend_too_soon') {
      resend.until = Date.now() + (Number(error.retry_after_s) || 10) * 1000;
    } else if (error.code === 'resend_limit') {
      resend.done = true;
      showAlert(alert, t('resendLimit'));
    } else {
      showAlert(alert, error.message || t('generic'));
    }
    tickResend(resend);
    if (resend.button.disabled || resend.done) input.focus();
  }

  async function submitCode(row, length, button, alert) {
    if (state.busy) return;
    const code = row.input.value.replace(/\s+/g, '');
    const valid = /^[0-9]+$/.test(code) && code.length === length;
    setFieldError(row, valid ? '' : t('codeInvalid', {n: length}));
    if (!valid) {
      row.input.focus();
      return;
    }
    const result = await mutate(button, alert, 'POST', '/confirm', {code});
    if (!result) return;
    const error = result.error;
    if (result.ok) {
      applyFromHttp(result.data.payment);
    } else if (error.code === 'incorrect_code') {
      setTriesLeft(error.tries_left);
      setFieldError(row, t('incorrectCode', {n: error.tries_left}));
      row.input.select();
      row.input.focus();
    } else if (error.code === 'code_attempts_exceeded' || result.status === 409) {
      state.notice = error.message || '';
      state.retryDismissed = false;
      refreshPayment();
    } else {
      setFieldError(row, error.message || t('generic'));
      row.input.focus();
    }
  }

  function setTriesLeft(triesLeft) {
    const action = state.payment.next_action;
    if (typeof triesLeft !== 'number' || !action) return;
    state.payment = Object.assign({}, state.payment, {next_action: Object.assign({}, action, {tries_left: triesLeft})});
    updateScreen('code');
  }

  function approveScreen() {
    const payment = state.payment;
    const wallet = findWallet(payment.wallet);
    const walletName = localized(wallet && wallet.name) || payment.wallet || t('yourWallet');
    const url = approveUrl();
    const screen = section('approve', t('approveHeading'));
    if (state.popupBlocked) {
      screen.node.append(h('p', {className: 'kopek-alert', id: 'kopek-popup-blocked', role: 'alert', text: t('popupBlocked')}));
    }
    screen.node.append(h('p', {text: t('approveText', {wallet: walletName})}));
    if (url) {
      const link = h('a', {
        className: 'kopek-button kopek-button-primary', id: 'kopek-approve-link', href: url, target: '_blank',
        rel: 'noopener', text: t('openWallet', {wallet: walletName}),
      });
      screen.node.append(link, h('button', {
        type: 'button', className: 'kopek-button kopek-button-secondary', id: 'kopek-redirect', text: t('continueHere'),
        onclick: () => redirectHere(url),
      }));
      if (state.popupBlocked) screen.focus = link;
    }
    const alert = alertNode();
    screen.node.append(alert, cancelButton(alert));
    return screen;
  }

  function redirectHere(url) {
    closePopup();
    tell('redirect', {url, returnUrl: state.payment.return_url || undefined}); // the loader checks both
  }

  function approveUrl() {
    const action = state.payment && state.payment.next_action;
    const url = action && action.type === 'approve_in_wallet' ? action.url : '';
    return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : '';
  }

  // The approval popup keeps its opener: Chromium ignores close() on a cross-origin popup
  // whose opener was cleared.
  function openPopup() {
    state.popup = window.open('', 'kopek-approve', 'popup,width=480,height=640');
    state.popupNavigated = false;
    state.popupBlocked = !state.popup;
  }

  // approve -> the wallet's page; anything else -> close, unless the attempt is in flight.
  function syncPopup(screenName) {
    const popup = state.popup;
    const url = approveUrl();
    if (!popup || (screenName === 'approve' && url && state.popupNavigated)) return;
    if (screenName === 'approve' && url && !popup.closed) {
      state.popupNavigated = true;
      popup.location.replace(url);
    } else if (state.popupNavigated || !state.busy || popup.closed) {
      closePopup();
    }
  }

  function closePopup() {
    if (state.popup) state.popup.close();
    state.popup = null;
  }

  function processingScreen() {
    const screen = section('processing', t('processingHeading'));
    const elapsed = h('p', {className: 'kopek-elapsed', id: 'kopek-elapsed'});
    const since = state.processingSince || Date.now();
    screen.tick = () => {
      elapsed.textContent = t('elapsed', {time: formatElapsed(Date.now() - since)});
    };
    screen.node.append(
      h('div', {className: 'kopek-spinner', 'aria-hidden': 'true'}),
      h('p', {text: t('processingText')}),
      elapsed);
    return screen;
  }

  function doneScreen(status, text) {
    const screen = section(status, t(status + 'Heading'));
    screen.node.classList.add('kopek-done', 'kopek-done-' + status);
    screen.node.append(h('p', {className: status === 'failed' ? 'kopek-error-message' : 'kopek-text', text}));
    return screen;
  }

  function cancelButton(alert) {
    const button = h('button', {
      type: 'button', className: 'kopek-button kopek-button-secondary', id: 'kopek-cancel', text: t('cancel'),
      onclick: async () => {
        const result = await mutate(button, alert, 'POST', '/cancel');
        if (!result) return;
        if (result.ok) applyFromHttp(result.data.payment);
        else if (result.status === 409) refreshPayment();
        else showAlert(alert, result.error.message || t('generic'));
      },
    });
    return button;
  }

  // Emptied first, so that a repeated message is announced again.
  function announce(text) {
    statusRegion.textContent = '';
    setTimeout(() => {
      statusRegion.textContent = text;
    }, 100);
  }

  function alertNode() {
    return h('p', {className: 'kopek-alert', role: 'alert', hidden: true});
  }

  function showAlert(alert, message) {
    alert.textContent = message;
    alert.hidden = !message;
  }

  function errorMessage(fallback) {
    const error = state.payment.last_error;
    if (error) return REASONS[state.locale][error.code] || error.message || fallback;
    return state.notice || fallback;
  }

  // ---- height for the loader

  // <main>'s height: documentElement.scrollHeight never drops below the iframe's own height.
  function watchHeight() {
    new ResizeObserver(reportHeight).observe(root);
    reportHeight();
  }

  function reportHeight() {
    const height = Math.ceil(root.getBoundingClientRect().height);
    if (height === state.toldHeight) return;
    state.toldHeight = height;
    tell('resize', {height});
  }

  // ---- small helpers

  // createElement with attributes; `text` sets textContent, functions under on* become listeners.
  function h(tag, attributes, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'text') el.textContent = value;
      else if (name === 'className') el.className = value;
      else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) el.append(child);
    return el;
  }

  function t(key, values) {
    const text = (STRINGS[state.locale] || STRINGS.en)[key] || STRINGS.en[key] || key;
    return text.replace(/\{(\w+)\}/g, (match, name) => (values && name in values ? String(values[name]) : match));
  }

  function localized(text) {
    if (!text) return '';
    if (typeof text === 'string') return text;
    return text[state.locale] || text.en || '';
  }

  function safeId(value) {
    return String(value).replace(/[^A-Za-z0-9_-]/g, '_');
  }

  function findWallet(id) {
    return state.wallets.find((w) => w.id === id);
  }

  function usable(wallet) {
    return Boolean(wallet) && wallet.available !== false;
  }

  function defaultWalletId(payment) {
    const ids = state.wallets.filter(usable).map((w) => w.id);
    if (payment && ids.includes(payment.wallet)) return payment.wallet;
    return ids[0] || null;
  }

  function formatAmount(payment) {
    try {
      const format = new Intl.NumberFormat(state.locale === 'ru' ? 'ru-RU' : 'en-US', {style: 'currency', currency: payment.currency});
      return format.format(payment.amount / 10 ** format.resolvedOptions().maximumFractionDigits);
    } catch (error) {
      return (payment.amount / 100).toFixed(2) + ' ' + payment.currency;
    }
  }

  function formatElapsed(ms) {
    const seconds = Math.floor(ms / 1000);
    return Math.floor(seconds / 60) + ':' + String(seconds % 60).padStart(2, '0');
  }
})();
