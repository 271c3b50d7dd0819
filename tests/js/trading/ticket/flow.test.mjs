// static/js/trading/api.js, ticket/flow.js and kill-switch.js over a fake fetch:
// the requests the ticket sends (headers, bodies, the Idempotency-Key), one confirm per
// double click, the same key on a resend, the refusals' sentences and what they offer.
import test from 'node:test';
import assert from 'node:assert/strict';

import { createTradingApi, resultLines } from '../../../../static/js/trading/api.js';
import { CHECKS, createTicketFlow } from '../../../../static/js/trading/ticket/flow.js';
import { wireKillSwitch } from '../../../../static/js/trading/kill-switch.js';

const doc = { cookie: 'sessionid=s; csrftoken=tok%3D1', querySelector: () => null };
const T = 1_760_000_000_000;
const ORDER = {
  link: 3, account: '5WT00001', legs: [{ symbol: '.SPY270115C590', action: 'Buy to Open', quantity: 2 }],
  order_type: 'Limit', price: '2.35', time_in_force: 'Day', replaces: null,
};
const preview = (id, expiresAt = T + 30_000) => ({ id, expires_at: expiresAt, words: 'Buy 2 SPY 590C 15 Jan 27 at 2.35 limit, day', effect: { cost: 470 }, warnings: [] });
const ticket = (state, orderId = null) => ({ id: 't1', preview_id: 'p1', state, order_id: orderId, link: 3, account: '5WT00001', words: 'w', said: null, placed_at: null, replaces: null });

/** A fake fetch: answers from `script` (a list of [status, body] or a function of the
 *  request, or 'network'), in order; records every request. A held answer waits for release(). */
function fakeFetch(script) {
  const calls = [];
  const held = [];
  const fetch = async (url, opts) => {
    calls.push({ url, ...opts, json: opts.body ? JSON.parse(opts.body) : undefined });
    let next = script.shift();
    if (typeof next === 'function') next = next(url, opts);
    if (next === 'hold') next = await new Promise((resolve) => held.push(resolve));
    if (next === 'network' || next === undefined) throw new TypeError('Failed to fetch');
    const [status, body] = next;
    return { ok: status >= 200 && status < 300, status, json: async () => body };
  };
  return { fetch, calls, release: (answer) => held.shift()(answer) };
}

function flowOver(script, { now = T, uuids = ['k1', 'k2', 'k3'] } = {}) {
  const net = fakeFetch(script);
  const timers = [];
  const clock = { now };
  let changes = 0;
  const flow = createTicketFlow({
    api: createTradingApi(doc, net.fetch),
    randomUUID: () => uuids.shift(),
    now: () => clock.now,
    setTimeout: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
    clearTimeout: () => {},
  }, () => { changes += 1; });
  return { flow, net, timers, clock, changes: () => changes };
}

test('every call is JSON with the session cookie and the CSRF header; the confirm has its key', async () => {
  const net = fakeFetch([[200, {}], [200, {}], [200, {}], [200, {}], [200, {}], [200, {}], [200, {}]]);
  const api = createTradingApi(doc, net.fetch);
  await api.preview(ORDER);
  await api.confirm('p1', 'key-1');
  await api.ticket('t 1');
  await api.cancel(3, 'A/1');
  await api.cancelAll(3, '5WT00001');
  await api.killSwitch();
  await api.trading();
  assert.deepEqual(net.calls.map((c) => `${c.method} ${c.url}`), [
    'POST /api/orders/preview', 'POST /api/orders', 'GET /api/orders/tickets/t%201', 'DELETE /api/orders/A%2F1?link=3',
    'POST /api/orders/cancel-all', 'POST /api/trading/kill-switch', 'GET /api/trading',
  ]);
  for (const c of net.calls) {
    assert.equal(c.credentials, 'same-origin');
    assert.equal(c.headers['X-CSRFToken'], 'tok=1');
    assert.equal(c.headers['Content-Type'], 'application/json');
  }
  assert.deepEqual(net.calls[0].json, ORDER);
  assert.deepEqual(net.calls[1].json, { preview_id: 'p1' });
  assert.equal(net.calls[1].headers['Idempotency-Key'], 'key-1');
  assert.equal(net.calls[0].headers['Idempotency-Key'], undefined);
  assert.deepEqual(net.calls[4].json, { link: 3, account: '5WT00001' });
  assert.deepEqual(net.calls[5].json, {});
});

test('a refusal is the server\'s sentence and code; no server is a sentence too', async () => {
  const net = fakeFetch([[400, { error: 'The price 2.351 is off the tick grid.', code: 'bad_price' }], 'network', [502, null]]);
  const api = createTradingApi(doc, net.fetch);
  const bad = await api.preview(ORDER);
  assert.deepEqual([bad.ok, bad.status, bad.code, bad.error], [false, 400, 'bad_price', 'The price 2.351 is off the tick grid.']);
  const down = await api.preview(ORDER);
  assert.deepEqual([down.status, down.code, down.error], [0, 'network', 'The server cannot be reached: the order was not previewed.']);
  assert.equal((await api.preview(ORDER)).error, 'The order was not previewed (HTTP 502).');
});

test('preview, then a double-clicked confirm sends one request with the preview\'s key', async () => {
  const { flow, net } = flowOver([[200, { preview: preview('p1') }], 'hold']);
  await flow.preview(ORDER);
  assert.equal(flow.view().phase, 'previewed');
  assert.equal(flow.view().secondsLeft, 30);
  const first = flow.confirm();
  const second = flow.confirm();
  assert.equal(flow.view().phase, 'confirming');
  net.release([201, { ticket: ticket('placed', '88') }]);
  await Promise.all([first, second]);
  const confirms = net.calls.filter((c) => c.url === '/api/orders');
  assert.equal(confirms.length, 1);
  assert.equal(confirms[0].headers['Idempotency-Key'], 'k1');
  assert.equal(flow.view().phase, 'sent');
  assert.equal(flow.view().ticket.order_id, '88');
  await flow.confirm();
  assert.equal(net.calls.filter((c) => c.url === '/api/orders').length, 1, 'a sent ticket is not confirmed again');
});

test('a lost answer is sent again with the same key; a new preview gets a new key', async () => {
  const { flow, net, clock } = flowOver([
    [200, { preview: preview('p1') }], 'network', [504, { error: 'The stream did not answer in time.', code: 'timeout' }],
    [201, { ticket: ticket('placed', '88') }],
  ]);
  await flow.preview(ORDER);
  await flow.confirm();
  assert.equal(flow.view().phase, 'previewed');
  assert.equal(flow.view().error.resend, true);
  clock.now = T + 31_000; // past the preview's life: a resend still goes (the key answers it)
  await flow.confirm();
  assert.equal(flow.view().error.text, 'The stream did not answer in time.');
  await flow.confirm();
  const keys = net.calls.filter((c) => c.url === '/api/orders').map((c) => c.headers['Idempotency-Key']);
  assert.deepEqual(keys, ['k1', 'k1', 'k1']);
  assert.equal(flow.view().phase, 'sent');

  const again = flowOver([[200, { preview: preview('p1') }], [409, { error: 'The quote moved: preview again.', code: 'quote_moved' }], [200, { preview: preview('p2') }], [201, { ticket: ticket('placed', '9') }]]);
  await again.flow.preview(ORDER);
  await again.flow.confirm();
  const v = again.flow.view();
  assert.deepEqual([v.phase, v.error.code, v.error.repreview, v.error.text], ['editing', 'quote_moved', true, 'The quote moved: preview again.']);
  await again.flow.repreview();
  assert.deepEqual(again.net.calls[2].json, ORDER, 'the same order previewed again');
  await again.flow.confirm();
  assert.deepEqual(again.net.calls.filter((c) => c.url === '/api/orders').map((c) => c.headers['Idempotency-Key']), ['k1', 'k2']);
});

test('an expired preview is not confirmed: Preview again', async () => {
  const { flow, net, clock } = flowOver([[200, { preview: preview('p1', T + 30_000) }]]);
  await flow.preview(ORDER);
  clock.now = T + 30_000;
  assert.equal(flow.view().secondsLeft, 0);
  await flow.confirm();
  assert.equal(net.calls.length, 1);
  assert.deepEqual([flow.view().error.code, flow.view().error.repreview], ['preview_expired', true]);
});

test('trading off: the preview shows the server\'s sentence and the way to /trading', async () => {
  const sentence = 'Turn trading on first: it takes your second factor.';
  const { flow } = flowOver([[403, { error: sentence, code: 'second_factor' }], [403, { error: 'Trading is not enabled for tastytrade · Main 5WT00001; staff can enable it in the admin.', code: 'trading_disabled' }]]);
  await flow.preview(ORDER);
  assert.deepEqual([flow.view().phase, flow.view().error.text, flow.view().error.tradingPage], ['editing', sentence, true]);
  flow.edited();
  assert.equal(flow.view().error, null, 'an edit clears the old sentence');
  await flow.preview(ORDER);
  assert.deepEqual([flow.view().error.code, flow.view().error.tradingPage, flow.view().error.repreview], ['trading_disabled', true, false]);
});

test('a placing ticket is read again until the broker\'s answer is in; already_confirmed shows its ticket', async () => {
  const { flow, net, timers } = flowOver([[200, { preview: preview('p1') }], [202, { ticket: ticket('placing') }], [200, { ticket: ticket('unknown') }], [200, { ticket: ticket('placed', '88') }]]);
  await flow.preview(ORDER);
  await flow.confirm();
  assert.equal(flow.view().ticket.state, 'placing');
  assert.equal(timers.length, 1);
  assert.equal(timers[0].ms, 1000);
  await timers[0].fn();
  assert.equal(flow.view().ticket.state, 'unknown');
  await timers[1].fn();
  assert.equal(flow.view().ticket.state, 'placed');
  assert.equal(timers.length, 2, 'no more reads once placed');
  assert.deepEqual(net.calls.slice(2).map((c) => c.url), ['/api/orders/tickets/t1', '/api/orders/tickets/t1']);
  assert.ok(CHECKS >= 10);

  const other = flowOver([[200, { preview: preview('p1') }], [409, { error: 'This preview was already confirmed.', code: 'already_confirmed', ticket: ticket('placed', '7') }]]);
  await other.flow.preview(ORDER);
  await other.flow.confirm();
  assert.deepEqual([other.flow.view().phase, other.flow.view().ticket.order_id], ['sent', '7']);
});

test('a closed ticket stops: no change after its answer', async () => {
  const { flow, net, changes } = flowOver(['hold']);
  const pending = flow.preview(ORDER);
  const before = changes();
  flow.close();
  net.release([200, { preview: preview('p1') }]);
  await pending;
  assert.equal(changes(), before);
});

test('cancel-all and kill-switch results in words, per broker link', () => {
  const lines = resultLines([
    { link: 3, broker: 'tastytrade', label: 'Main', account: '5WT00001', cancelled: ['1', '2'], failed: [], error: null },
    { link: 4, broker: 'tradier', label: 'IRA', account: null, cancelled: [], failed: [{ order_id: '9', error: 'already filled' }], error: null },
    { link: 5, broker: 'alpaca', label: 'Paper', account: null, cancelled: [], failed: [], error: 'Alpaca did not answer.' },
  ]);
  assert.deepEqual(lines, [
    { link: 3, ok: true, text: 'tastytrade · Main · 5WT00001: 2 orders cancelled' },
    { link: 4, ok: false, text: 'tradier · IRA: 0 orders cancelled; 9 not cancelled: already filled' },
    { link: 5, ok: false, text: 'alpaca · Paper: 0 orders cancelled; Alpaca did not answer.' },
  ]);
});

/** A node with what kill-switch.js touches. */
function fakeNode() {
  const n = {
    attrs: {}, children: [], hidden: true, disabled: false, textContent: '', listeners: {},
    setAttribute(k, v) { this.attrs[k] = v; },
    removeAttribute(k) { delete this.attrs[k]; },
    replaceChildren(...c) { this.children = c; },
    addEventListener(type, fn) { this.listeners[type] = fn; },
  };
  return n;
}

test('the kill switch asks first, then shows each broker\'s result', async () => {
  const net = fakeFetch([[200, { results: [{ link: 3, broker: 'tastytrade', label: 'Main', account: null, cancelled: ['1'], failed: [], error: null }], trading: { on: false } }]]);
  const button = fakeNode();
  const out = fakeNode();
  let answer = false;
  const env = { doc: { ...doc, createElement: () => fakeNode() }, win: { confirm: () => answer }, fetch: net.fetch };
  wireKillSwitch(button, out, env);
  await button.listeners.click();
  assert.equal(net.calls.length, 0, 'declined: nothing sent');
  answer = true;
  await button.listeners.click();
  assert.equal(net.calls.length, 1);
  assert.equal(net.calls[0].url, '/api/trading/kill-switch');
  assert.equal(out.hidden, false);
  assert.equal(out.attrs['data-state'], 'done');
  assert.deepEqual(out.children.map((c) => [c.textContent, c.attrs['data-ok'] ?? null]), [
    ['tastytrade · Main: 1 order cancelled', 'true'],
    ['Trading is off; turning it on again takes your second factor.', null],
  ]);
  assert.equal(button.disabled, false);
});

// ------------------------------------------------------------------ the second confirm (the flow)

const STOP_ORDER = {
  link: 5, account: 'PA000001', legs: [{ symbol: 'AAPL', action: 'Sell to Close', quantity: 10 }],
  order_type: 'Stop', price: null, stop_price: '480.00', trail: null, time_in_force: 'Day', replaces: null,
};
const AT_ONCE = 'This sell stop at 480.00 is at or above the bid 479.50: it would trigger at once.';
const stopPreview = (id, second = true) => ({ ...preview(id), second_confirm: second, warnings: second ? [AT_ONCE] : [] });

test('the confirm says "second_confirm": true only when asked to', async () => {
  const net = fakeFetch([[201, {}], [201, {}]]);
  const api = createTradingApi(doc, net.fetch);
  await api.confirm('p1', 'key-1', true);
  await api.confirm('p2', 'key-2');
  assert.deepEqual(net.calls[0].json, { preview_id: 'p1', second_confirm: true });
  assert.equal(net.calls[0].headers['Idempotency-Key'], 'key-1');
  assert.deepEqual(net.calls[1].json, { preview_id: 'p2' });
});

test('a stop that would trigger at once: the first Confirm only arms, the second sends second_confirm with the preview\'s key', async () => {
  const { flow, net } = flowOver([[200, { preview: stopPreview('p1') }], [201, { ticket: ticket('placed', '88') }]]);
  await flow.preview(STOP_ORDER);
  assert.deepEqual([flow.view().phase, flow.view().armed], ['previewed', false]);
  await flow.confirm();
  assert.deepEqual([flow.view().phase, flow.view().armed], ['previewed', true]);
  assert.equal(net.calls.filter((c) => c.url === '/api/orders').length, 0, 'the first Confirm sends nothing');
  await flow.confirm();
  const confirms = net.calls.filter((c) => c.url === '/api/orders');
  assert.deepEqual(confirms.map((c) => c.json), [{ preview_id: 'p1', second_confirm: true }]);
  assert.equal(confirms[0].headers['Idempotency-Key'], 'k1');
  assert.equal(flow.view().phase, 'sent');

  // second_confirm false: one Confirm, as ever
  const plain = flowOver([[200, { preview: stopPreview('p1', false) }], [201, { ticket: ticket('placed', '9') }]]);
  await plain.flow.preview(STOP_ORDER);
  await plain.flow.confirm();
  assert.deepEqual(plain.net.calls[1].json, { preview_id: 'p1' });
  assert.equal(plain.flow.view().phase, 'sent');
});

test('an edit disarms; a new preview arms again under its own key; a lost answer is resent the same', async () => {
  const { flow, net, clock } = flowOver([
    [200, { preview: stopPreview('p1') }], [200, { preview: stopPreview('p2') }], 'network', [201, { ticket: ticket('placed', '88') }],
  ]);
  await flow.preview(STOP_ORDER);
  await flow.confirm();
  assert.equal(flow.view().armed, true);
  flow.edited();
  assert.deepEqual([flow.view().phase, flow.view().armed, flow.view().preview], ['editing', false, null]);
  await flow.preview({ ...STOP_ORDER, stop_price: '479.00' });
  assert.equal(flow.view().armed, false, 'a new preview is not armed');
  await flow.confirm();
  await flow.confirm();
  assert.equal(flow.view().error.resend, true);
  assert.equal(flow.view().armed, true);
  clock.now = T + 31_000;
  await flow.confirm(); // the resend: no arming again, the same key, second_confirm again
  const confirms = net.calls.filter((c) => c.url === '/api/orders');
  // p1 had k1 (the view shows a preview's key), p2 its own
  assert.deepEqual(confirms.map((c) => [c.json, c.headers['Idempotency-Key']]), [
    [{ preview_id: 'p2', second_confirm: true }, 'k2'], [{ preview_id: 'p2', second_confirm: true }, 'k2'],
  ]);
  assert.equal(flow.view().phase, 'sent');
});

test('an expired preview is said before it is armed; the server\'s second_confirm refusal arms it', async () => {
  const old = flowOver([[200, { preview: stopPreview('p1') }]]);
  await old.flow.preview(STOP_ORDER);
  old.clock.now = T + 30_000;
  await old.flow.confirm();
  assert.deepEqual([old.flow.view().error.code, old.flow.view().armed], ['preview_expired', false]);

  // the server asks for it (nothing was placed; the key unused): Confirm anyway, the same key
  const sentence = `${AT_ONCE} Confirm again to place it anyway.`;
  const { flow, net } = flowOver([
    [200, { preview: stopPreview('p1', false) }], [409, { error: sentence, code: 'second_confirm' }], [201, { ticket: ticket('placed', '88') }],
  ]);
  await flow.preview(STOP_ORDER);
  await flow.confirm();
  const v = flow.view();
  assert.deepEqual([v.phase, v.armed, v.error.code, v.error.text, v.error.repreview], ['previewed', true, 'second_confirm', sentence, false]);
  await flow.confirm();
  assert.deepEqual(net.calls.filter((c) => c.url === '/api/orders').map((c) => [c.json, c.headers['Idempotency-Key']]), [
    [{ preview_id: 'p1' }, 'k1'], [{ preview_id: 'p1', second_confirm: true }, 'k1'],
  ]);
  assert.equal(flow.view().phase, 'sent');
});

// ------------------------------------------------------------------ the ticket on the page (a small fake DOM)

/** Just what ticket/dialog.js and render/dom.js touch: elements with attributes, children, text, a
 *  select's value (its chosen option, else the first; '' when set to none), events. */
class FakeNode {
  constructor() { this.parentNode = null; }
  get isConnected() { let n = this; while (n.parentNode) n = n.parentNode; return n === fakeDoc.body; }
  remove() {
    if (!this.parentNode) return;
    const siblings = this.parentNode.childNodes;
    siblings.splice(siblings.indexOf(this), 1);
    this.parentNode = null;
  }
}
class FakeText extends FakeNode {
  constructor(text) { super(); this.data = String(text); }
  get textContent() { return this.data; }
}
class FakeElement extends FakeNode {
  constructor(tag) {
    super();
    Object.assign(this, { tagName: tag.toUpperCase(), attributes: new Map(), childNodes: [], listeners: new Map(), hidden: false, disabled: false, readOnly: false, className: '', open: false });
  }
  setAttribute(k, v) { this.attributes.set(k, String(v)); }
  getAttribute(k) { return this.attributes.has(k) ? this.attributes.get(k) : null; }
  hasAttribute(k) { return this.attributes.has(k); }
  removeAttribute(k) { this.attributes.delete(k); }
  append(...nodes) {
    for (const n of nodes) {
      const node = n instanceof FakeNode ? n : new FakeText(n);
      node.remove();
      node.parentNode = this;
      this.childNodes.push(node);
    }
  }
  replaceChildren(...nodes) {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes = [];
    this.chosen = undefined;
    this.append(...nodes);
  }
  get children() { return this.childNodes.filter((c) => c instanceof FakeElement); }
  get childElementCount() { return this.children.length; }
  get textContent() { return this.childNodes.map((c) => c.textContent).join(''); }
  set textContent(text) { this.replaceChildren(new FakeText(text)); }
  get value() {
    if (this.tagName === 'OPTION') return this.getAttribute('value') ?? this.textContent;
    if (this.tagName !== 'SELECT') return this.typed ?? this.getAttribute('value') ?? '';
    if (this.chosen === null) return '';
    const options = this.children;
    return ((this.chosen && options.includes(this.chosen) ? this.chosen : options[0]) || { value: '' }).value;
  }
  set value(v) {
    if (this.tagName === 'SELECT') this.chosen = this.children.find((o) => o.value === String(v)) || null;
    else this.typed = String(v);
  }
  addEventListener(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }
  dispatch(type) {
    const ev = { type, target: this, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    for (const fn of this.listeners.get(type) || []) fn(ev);
    return ev;
  }
  contains(node) { for (let n = node; n; n = n.parentNode) if (n === this) return true; return false; }
  // as a browser: the dialog is closed at once, its `close` event comes in a later task
  showModal() { this.open = true; }
  close() { if (this.open) { this.open = false; setTimeout(() => this.dispatch('close'), 0); } }
  /** Escape on a modal dialog: a `cancel` event, and the browser closes it unless prevented. */
  pressEscape() { if (!this.dispatch('cancel').defaultPrevented) this.close(); }
  focus() { fakeDoc.activeElement = this; }
}
const fakeDoc = {
  cookie: 'csrftoken=tok', querySelector: () => null, activeElement: null,
  createElement: (tag) => new FakeElement(tag), createTextNode: (text) => new FakeText(text),
};
fakeDoc.body = new FakeElement('body');
globalThis.window ??= { matchMedia: () => ({ matches: false }) };
globalThis.document = fakeDoc;
globalThis.Node = FakeNode;
const { createTicket } = await import('../../../../static/js/trading/ticket/dialog.js');
const { fromOrder, fromSymbol } = await import('../../../../static/js/trading/ticket/drafts.js');
const { accountChoices } = await import('../../../../static/js/trading/ticket/offers.js');

function* descendants(node) {
  for (const c of node.children || []) { yield c; yield* descendants(c); }
}
/** The element with attribute `attr` (= `value` when given) under `root`. */
const find = (root, attr, value) => [...descendants(root)].find((n) => n.hasAttribute(attr) && (value === undefined || n.getAttribute(attr) === value)) || null;
/** Whether a node is shown: neither it nor any ancestor is hidden. */
const shown = (node) => { for (let n = node; n; n = n.parentNode) if (n.hidden) return false; return true; };
/** The <label> a control is in, and its words (what a screen reader names the control). */
const labelOf = (node) => { let n = node.parentNode; while (n && n.tagName !== 'LABEL') n = n.parentNode; return n; };
const settle = () => new Promise((resolve) => setImmediate(resolve));
/** Until the browser's queued `close` events have fired. */
const closeEvents = () => new Promise((resolve) => setTimeout(resolve, 1));

const TICKET_ACCOUNTS = new Map([
  ['5WT00001', { number: '5WT00001', link: 3, broker: 'tastytrade', label: 'Main', positions: new Map() }],
  ['PA000001', { number: 'PA000001', link: 5, broker: 'alpaca', label: 'Paper', positions: new Map() }],
]);

/** A ticket over the fake DOM and a fetch answered by route ("POST /api/orders": [answers]). */
function ticketOver(routes) {
  const calls = [];
  const fetch = async (url, opts) => {
    const route = `${opts.method} ${url}`;
    calls.push({ route, ...opts, json: opts.body ? JSON.parse(opts.body) : undefined });
    const answers = routes[route] || [];
    const [status, body] = route === 'GET /api/trading' ? [200, { trading: { on: true, links: [] } }] : answers.shift() || [500, null];
    return { ok: status >= 200 && status < 300, status, json: async () => body };
  };
  const state = {
    quotes: new Map([['AAPL', { bid: 479.5, ask: 479.6 }], ['.SPY270115C590', { bid: 2.3, ask: 2.35 }], ['.SPY270115P580', { bid: 1.1, ask: 1.2 }]]),
    accounts: TICKET_ACCOUNTS, orders: new Map(),
  };
  const uuids = ['k1', 'k2'];
  const ticketUi = createTicket({
    doc: fakeDoc, api: createTradingApi(fakeDoc, fetch), getState: () => state, now: () => T, randomUUID: () => uuids.shift(),
    setTimeout: () => 0, clearTimeout: () => {}, setInterval: () => 0, clearInterval: () => {},
  });
  return { ticketUi, calls, state };
}
const pick = (select, value) => { select.value = value; select.dispatch('change'); };
const type = (input, text) => { input.value = text; input.dispatch('input'); };

test('the ticket shows the fields each type takes: a stop price, a price, a trail ($ or %)', async () => {
  const { ticketUi, calls } = ticketOver({});
  const alpacaOnly = accountChoices(TICKET_ACCOUNTS).filter((c) => c.broker === 'alpaca');
  const dialog = ticketUi.open(fromSymbol('AAPL', (s) => (s === 'AAPL' ? { bid: 479.5, ask: 479.6 } : undefined), alpacaOnly));
  await settle();
  const typeSelect = find(dialog, 'data-ticket-type');
  const price = find(dialog, 'data-ticket-price');
  const stop = find(dialog, 'data-ticket-stop');
  const trail = find(dialog, 'data-ticket-trail');
  const unit = find(dialog, 'data-ticket-trail-unit');
  assert.equal(find(dialog, 'data-ticket-account').value, '5|PA000001');
  assert.deepEqual(typeSelect.children.map((o) => o.value), ['Limit', 'Market', 'Stop', 'Stop Limit', 'Trailing Stop', 'Notional Market'], 'Alpaca, one stock leg');
  // real labels name every new field
  assert.equal(labelOf(stop).textContent.trim(), 'Stop price');
  assert.equal(labelOf(trail).textContent.trim(), 'Trail');
  assert.match(labelOf(unit).textContent, /^Trail in dollars or percent/);
  assert.deepEqual(unit.children.map((o) => [o.value, o.textContent]), [['amount', '$'], ['percent', '%']]);
  const fields = () => ({ price: shown(price) && !price.disabled, stop: shown(stop) && !stop.disabled, trail: shown(trail) && !trail.disabled && !unit.disabled });
  assert.deepEqual(fields(), { price: true, stop: false, trail: false }, 'Limit');
  assert.equal(price.value, '479.60', 'a buy at the ask');

  pick(typeSelect, 'Stop');
  assert.deepEqual(fields(), { price: false, stop: true, trail: false }, 'Stop');
  assert.equal(price.disabled, true);
  assert.equal(stop.value, '479.61', 'a buy stop: a tick above the ask');
  pick(find(dialog, 'data-ticket-action', '0'), 'Sell to Close');
  assert.equal(stop.value, '479.49', 'a sell stop: a tick below the bid');
  pick(typeSelect, 'Stop Limit');
  assert.deepEqual(fields(), { price: true, stop: true, trail: false }, 'Stop Limit');
  assert.equal(stop.value, '479.49', 'kept across the change');
  pick(typeSelect, 'Trailing Stop');
  assert.deepEqual(fields(), { price: false, stop: false, trail: true }, 'Trailing Stop');
  pick(typeSelect, 'Market');
  assert.deepEqual(fields(), { price: false, stop: false, trail: false }, 'Market');
  assert.equal(price.disabled, true);

  // a trailing stop of 2.5 %: the body has the trail and nulls for the rest
  pick(typeSelect, 'Trailing Stop');
  type(trail, '2.5');
  pick(unit, 'percent');
  find(dialog, 'data-ticket-preview').dispatch('click');
  await settle();
  const sent = calls.find((c) => c.route === 'POST /api/orders/preview');
  assert.deepEqual(sent.json, {
    link: 5, account: 'PA000001', legs: [{ symbol: 'AAPL', action: 'Sell to Close', quantity: 1 }], order_type: 'Trailing Stop',
    price: null, stop_price: null, trail: { percent: '2.5' }, time_in_force: 'Day', replaces: null,
  });
  ticketUi.close();
  assert.equal(dialog.isConnected, false);
});

test('a dollar amount in place of the quantity (Notional Market); part of a share at Alpaca', async () => {
  const { ticketUi, calls } = ticketOver({});
  const alpacaOnly = accountChoices(TICKET_ACCOUNTS).filter((c) => c.broker === 'alpaca');
  const dialog = ticketUi.open(fromSymbol('AAPL', (s) => (s === 'AAPL' ? { bid: 479.5, ask: 479.6 } : undefined), alpacaOnly));
  await settle();
  const typeSelect = find(dialog, 'data-ticket-type');
  const quantity = find(dialog, 'data-ticket-quantity', '0');
  const dollars = find(dialog, 'data-ticket-notional');
  assert.equal(labelOf(dollars).textContent.trim(), 'Amount in dollars');
  assert.deepEqual([shown(dollars), shown(quantity), quantity.getAttribute('inputmode')], [false, true, 'decimal'], 'Limit: a quantity, parts of a share taken');
  type(quantity, '0.5');
  find(dialog, 'data-ticket-preview').dispatch('click');
  await settle();
  let sent = calls.filter((c) => c.route === 'POST /api/orders/preview').at(-1);
  assert.deepEqual(sent.json.legs, [{ symbol: 'AAPL', action: 'Buy to Open', quantity: '0.5' }]);
  ticketUi.close();

  const again = ticketUi.open(fromSymbol('AAPL', (s) => (s === 'AAPL' ? { bid: 479.5, ask: 479.6 } : undefined), alpacaOnly));
  await settle();
  pick(find(again, 'data-ticket-type'), 'Notional Market');
  const amount = find(again, 'data-ticket-notional');
  assert.deepEqual([shown(amount), amount.disabled, shown(find(again, 'data-ticket-quantity', '0'))], [true, false, false]);
  assert.equal(shown(find(again, 'data-ticket-price')), false);
  type(amount, '25');
  find(again, 'data-ticket-preview').dispatch('click');
  await settle();
  sent = calls.filter((c) => c.route === 'POST /api/orders/preview').at(-1);
  assert.deepEqual(sent.json, {
    link: 5, account: 'PA000001', legs: [{ symbol: 'AAPL', action: 'Buy to Open' }], order_type: 'Notional Market',
    price: null, stop_price: null, trail: null, notional: '25.00', time_in_force: 'Day', replaces: null,
  });
  ticketUi.close();
  assert.equal(typeSelect.isConnected, false);
});

test('a stop price the trader typed stays; a cleared one is refused in words; tastytrade offers no trailing stop', async () => {
  const { ticketUi, calls } = ticketOver({});
  const dialog = ticketUi.open(fromSymbol('AAPL', () => undefined, accountChoices(TICKET_ACCOUNTS)));
  const typeSelect = find(dialog, 'data-ticket-type');
  assert.deepEqual(typeSelect.children.map((o) => o.value), ['Limit', 'Market'], 'no account chosen yet');
  pick(find(dialog, 'data-ticket-account'), '5|PA000001');
  pick(typeSelect, 'Trailing Stop');
  pick(find(dialog, 'data-ticket-account'), '3|5WT00001');
  assert.deepEqual(typeSelect.children.map((o) => o.value), ['Limit', 'Market', 'Stop', 'Stop Limit', 'Notional Market']);
  assert.equal(typeSelect.value, 'Limit', 'a type the broker does not take falls back');
  const stop = find(dialog, 'data-ticket-stop');
  type(stop, '470.00');
  pick(typeSelect, 'Stop');
  assert.equal(stop.value, '470.00', 'not prefilled over the trader\'s own');
  type(stop, '');
  find(dialog, 'data-ticket-preview').dispatch('click');
  await settle();
  const error = find(dialog, 'data-ticket-error');
  assert.equal(shown(error), true);
  assert.equal(error.getAttribute('data-code'), 'form');
  assert.equal(find(dialog, 'data-ticket-error-text').textContent, 'A stop order needs a stop price (its trigger).');
  assert.equal(calls.filter((c) => c.route === 'POST /api/orders/preview').length, 0);
  ticketUi.close();

  // two legs at tastytrade: a Limit or a Market only
  const spread = ticketUi.open({
    title: 'Trade', legs: [{ symbol: '.SPY270115C590', action: 'Buy to Open', quantity: 1 }, { symbol: '.SPY270115P580', action: 'Sell to Open', quantity: 1 }],
    account: { link: 3, account: '5WT00001' }, accountFixed: false, order_type: 'Limit', price: null, stop_price: null, trail: null, time_in_force: 'Day', replaces: null,
  });
  assert.deepEqual(find(spread, 'data-ticket-type').children.map((o) => o.value), ['Limit', 'Market']);
  ticketUi.close();
});

test('Replace… of a trailing stop opens with its trail; of a stop limit with its stop price', () => {
  const { ticketUi } = ticketOver({});
  const trailing = fromOrder({
    id: 'a-9', order_type: 'trailing_stop', price: null, stop_price: 186.02, time_in_force: 'gtc',
    trail: { amount: null, percent: 2.5, high_water_mark: 190 }, legs: [{ symbol: 'AAPL', action: 'sell', quantity: 10 }],
  }, 5, 'PA000001');
  const dialog = ticketUi.open(trailing);
  assert.equal(find(dialog, 'data-ticket-type').value, 'Trailing Stop');
  assert.equal(find(dialog, 'data-ticket-trail').value, '2.5');
  assert.equal(find(dialog, 'data-ticket-trail-unit').value, 'percent');
  assert.equal(shown(find(dialog, 'data-ticket-trail')), true);
  assert.equal(shown(find(dialog, 'data-ticket-stop')), false);
  ticketUi.close();
  const stopLimit = fromOrder({
    id: '501', order_type: 'Stop Limit', price: 185, stop_price: 185.5, trail: null, time_in_force: 'Day',
    legs: [{ symbol: 'AAPL', action: 'Sell to Close', quantity: 10, remaining_quantity: 10 }],
  }, 3, '5WT00001');
  const again = ticketUi.open(stopLimit);
  assert.equal(find(again, 'data-ticket-type').value, 'Stop Limit');
  assert.equal(find(again, 'data-ticket-stop').value, '185.50');
  assert.equal(find(again, 'data-ticket-price').value, '185.00');
  assert.equal(shown(find(again, 'data-ticket-stop')) && shown(find(again, 'data-ticket-price')), true);
  ticketUi.close();
});

test('on the page: the stop\'s warning stands out, Confirm arms "Confirm anyway", the second click sends it', async () => {
  const far = 'The price is far from the mid.';
  const { ticketUi, calls } = ticketOver({
    'POST /api/orders/preview': [[200, { preview: { ...stopPreview('p1'), warnings: [far, AT_ONCE] } }]],
    'POST /api/orders': [[201, { ticket: ticket('placed', '88') }]],
  });
  const dialog = ticketUi.open(fromOrder({
    id: '501', order_type: 'Stop', price: null, stop_price: 480, trail: null, time_in_force: 'Day',
    legs: [{ symbol: 'AAPL', action: 'Sell to Close', quantity: 10, remaining_quantity: 10 }],
  }, 5, 'PA000001'));
  find(dialog, 'data-ticket-preview').dispatch('click');
  await settle();
  assert.equal(dialog.getAttribute('data-phase'), 'previewed');
  assert.equal(calls.find((c) => c.route === 'POST /api/orders/preview').json.stop_price, '480.00');
  const items = find(dialog, 'data-ticket-warnings').children;
  assert.deepEqual(items.map((li) => [li.textContent, li.hasAttribute('data-second-confirm'), li.children.map((c) => c.tagName)]), [
    [far, false, []], [AT_ONCE, true, ['STRONG']],
  ]);
  const confirm = find(dialog, 'data-ticket-confirm');
  const note = find(dialog, 'data-ticket-second-confirm');
  assert.deepEqual([confirm.textContent, confirm.getAttribute('data-armed'), shown(note)], ['Confirm', null, false]);
  confirm.dispatch('click');
  await settle();
  assert.equal(calls.filter((c) => c.route === 'POST /api/orders').length, 0, 'the first click sends nothing');
  assert.deepEqual([confirm.textContent, confirm.getAttribute('data-armed'), shown(note), confirm.disabled], ['Confirm anyway', 'true', true, false]);
  assert.match(note.textContent, /Read the warning above: Confirm anyway/);
  assert.equal(note.getAttribute('role'), 'alert');
  confirm.dispatch('click');
  await settle();
  const sent = calls.filter((c) => c.route === 'POST /api/orders');
  assert.deepEqual(sent.map((c) => [c.json, c.headers['Idempotency-Key']]), [[{ preview_id: 'p1', second_confirm: true }, 'k1']]);
  assert.equal(dialog.getAttribute('data-phase'), 'sent');
  assert.equal(find(dialog, 'data-ticket-result').getAttribute('data-order-id'), '88');
  ticketUi.close();

  // second_confirm false: Confirm sends at once
  const plain = ticketOver({
    'POST /api/orders/preview': [[200, { preview: stopPreview('p2', false) }]],
    'POST /api/orders': [[201, { ticket: ticket('placed', '89') }]],
  });
  const d2 = plain.ticketUi.open(fromOrder({
    id: '502', order_type: 'Stop', price: null, stop_price: 470, trail: null, time_in_force: 'Day',
    legs: [{ symbol: 'AAPL', action: 'Sell to Close', quantity: 10 }],
  }, 5, 'PA000001'));
  find(d2, 'data-ticket-preview').dispatch('click');
  await settle();
  assert.equal(find(d2, 'data-ticket-warnings').childElementCount, 0);
  find(d2, 'data-ticket-confirm').dispatch('click');
  await settle();
  assert.deepEqual(plain.calls.filter((c) => c.route === 'POST /api/orders').map((c) => c.json), [{ preview_id: 'p2' }]);
  assert.equal(d2.getAttribute('data-phase'), 'sent');
  plain.ticketUi.close();
});

test('a closed ticket leaves the page at once, not at the browser\'s later close event; focus the trader moved stays', async () => {
  const { ticketUi } = ticketOver({});
  const quote = (s) => (s === 'AAPL' ? { bid: 479.5, ask: 479.6 } : undefined);
  const dialogs = () => fakeDoc.body.children.filter((n) => n.tagName === 'DIALOG');
  const opener = new FakeElement('td');
  const elsewhere = new FakeElement('td');
  fakeDoc.body.append(opener, elsewhere);

  // its Close button
  opener.focus();
  const first = ticketUi.open(fromSymbol('AAPL', quote, accountChoices(TICKET_ACCOUNTS)));
  find(first, 'data-ticket-preview').focus();
  find(first, 'data-ticket-close').dispatch('click');
  assert.deepEqual([first.open, first.isConnected, fakeDoc.activeElement], [false, false, opener], 'gone, focus back where it was');

  // Escape: the ticket closes itself on the cancel request, in the same task
  const second = ticketUi.open(fromSymbol('AAPL', quote, accountChoices(TICKET_ACCOUNTS)));
  second.pressEscape();
  assert.deepEqual([second.open, second.isConnected, dialogs().length], [false, false, 0]);
  // the trader moves on before the browser's close events fire: they take nothing back
  elsewhere.focus();
  await closeEvents();
  assert.equal(fakeDoc.activeElement, elsewhere);

  // a ticket opened while another is open replaces it: one ticket on the page
  const third = ticketUi.open(fromSymbol('AAPL', quote, accountChoices(TICKET_ACCOUNTS)));
  const fourth = ticketUi.open(fromSymbol('AAPL', quote, accountChoices(TICKET_ACCOUNTS)));
  assert.deepEqual(dialogs(), [fourth]);
  assert.equal(third.isConnected, false);
  await closeEvents();
  assert.deepEqual(dialogs(), [fourth], 'the first one\'s late close event leaves the second');

  // a browser that closes the dialog with no cancel event (its close-request rules): the close event tears it down
  fourth.close();
  await closeEvents();
  assert.deepEqual([fourth.isConnected, dialogs().length], [false, 0]);
  opener.remove();
  elsewhere.remove();
});

test('on the page: a coin\'s ticket names it, quotes its own price, offers what its brokers take and says who takes none', async () => {
  const { ticketUi, state } = ticketOver({});
  state.quotes.set('BTC/USD:CXTALP', { bid: 95012.41, ask: 95013.07 });
  state.quotes.set('BTCUSD', { bid: 50.86, ask: 50.87 }); // a look-alike ticker: never read
  state.accounts = new Map([...TICKET_ACCOUNTS, ['VA000001', { number: 'VA000001', link: 4, broker: 'tradier', label: 'IRA', positions: new Map() }]]);
  const dialog = ticketUi.open(fromSymbol('BTC/USD', (s) => state.quotes.get(s), accountChoices(state.accounts)));
  await settle();
  const legend = find(dialog, 'data-ticket-leg', '0').children.find((n) => n.tagName === 'LEGEND');
  assert.deepEqual([legend.textContent, legend.getAttribute('data-symbol')], ['BTC/USD', 'BTC/USD:CXTALP']);
  const quoteLine = find(dialog, 'data-ticket-quote');
  assert.equal(quoteLine.textContent, 'BTC/USD: bid 95012.41 · ask 95013.07');
  assert.equal(quoteLine.getAttribute('data-bid'), '95012.41');
  assert.equal(find(dialog, 'data-ticket-price').value, '95013.07', 'a buy at the coin\'s ask');
  // Tradier takes no crypto: its account is not offered, and the ticket says why
  const account = find(dialog, 'data-ticket-account');
  assert.deepEqual(account.children.map((o) => o.value).sort(), ['', '3|5WT00001', '5|PA000001']);
  const note = find(dialog, 'data-ticket-unoffered');
  assert.deepEqual([shown(note), note.textContent], [true, 'Tradier trades stocks and options only: it takes no crypto orders.']);
  // Alpaca: GTC or IOC, never Day; a quantity with decimals
  pick(account, '5|PA000001');
  const tif = find(dialog, 'data-ticket-tif');
  assert.deepEqual([tif.children.map((o) => o.value), tif.value], [['GTC', 'IOC'], 'GTC']);
  assert.equal(find(dialog, 'data-ticket-quantity', '0').getAttribute('inputmode'), 'decimal');
  // tastytrade: a market coin order is IOC
  pick(account, '3|5WT00001');
  pick(find(dialog, 'data-ticket-type'), 'Market');
  assert.deepEqual(tif.children.map((o) => o.value), ['IOC']);
  ticketUi.close();
});
