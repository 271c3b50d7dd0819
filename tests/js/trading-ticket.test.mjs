// static/js/trading/trading-api.js, ticket-flow.js and kill-switch.js over a fake fetch:
// the requests the ticket sends (headers, bodies, the Idempotency-Key), one confirm per
// double click, the same key on a resend, the refusals' sentences and what they offer.
import test from 'node:test';
import assert from 'node:assert/strict';

import { createTradingApi, resultLines } from '../../static/js/trading/trading-api.js';
import { CHECKS, createTicketFlow } from '../../static/js/trading/ticket-flow.js';
import { wireKillSwitch } from '../../static/js/trading/kill-switch.js';

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
