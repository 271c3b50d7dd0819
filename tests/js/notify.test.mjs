// Notifications derived from the stream (static/js/stream/notify.js): which events a
// state change makes (fills, partial fills, rejections, alerts), that each is raised once
// across resume, resync snapshots, reloads and tabs, and the user's settings.
// Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import {
  DEFAULT_SETTINGS, NOTIFIED_MAX, NOTIFIED_TTL_MS, addToHistory, ageText, claim, notificationText, settingsOf,
  wanted,
} from '../../static/js/stream/notify.js';
import { notifyingTab } from './tools/notifying-tab.mjs';

const T = 1_760_000_000_000;

const fill = (id, quantity, price = 410.5) => ({ id, quantity, price, at: T });
const order = (id, status, fills = [], extra = {}) => ({
  id, status, order_type: 'Limit', price: 410.5, price_effect: 'Debit', underlying: 'MSFT', updated_at: T,
  legs: [{ symbol: 'MSFT', instrument_type: 'Equity', action: 'Buy to Open', quantity: 100, remaining_quantity: 100 - fills.reduce((n, f) => n + f.quantity, 0), fills }],
  ...extra,
});
const snap = (orders, extra = {}) => ({
  type: 'snapshot', epoch: 'E1', seq: 5, simulated: true, accounts: [], quotes: {}, greeks: {},
  orders: orders.map((o) => ({ ...o, link: 1, account: 'T1' })), links: [], watchlist: { symbols: [], version: 1 }, t: T, ...extra,
});
const orderFrame = (seq, o, epoch = 'E1') => ({ type: 'order', epoch, seq, t: T, simulated: true, account: 'T1', link: 1, order: o });
const trigger = (id, extra = {}) => ({
  id, alert_id: 7, symbol: 'SPY', condition: 'above', level: 600, price: 600.12, at: T, message: 'SPY rose above 600.00 (600.12).', rearm: false, ...extra,
});
const alertFrame = (seq, a, epoch = 'E1') => ({ type: 'alert', epoch, seq, t: T, simulated: true, account: '', link: 0, alert: a });

/** A tab: the page's snapshot is its baseline; then every frame, with the events it made. */
const tab = notifyingTab;

const keys = (events) => events.map((e) => e.key);

test('an order already filled at page load is history: no event', () => {
  const t = tab(snap([order('9', 'Filled', [fill('9:100', 100)])]));
  assert.deepEqual(t.events, []);
});

test('a partial fill, then the fill that completes the order: one event each', () => {
  const t = tab(snap([order('9', 'Live')]));
  t.feed(orderFrame(6, order('9', 'Partially Filled', [fill('9:40', 40, 410.25)])));
  t.feed(orderFrame(7, order('9', 'Filled', [fill('9:40', 40, 410.25), fill('9:100', 60, 410.5)])));
  assert.deepEqual(keys(t.events), ['fill:1:9:9:40', 'fill:1:9:9:100']);
  const [partial, full] = t.events;
  assert.equal(partial.kind, 'fill');
  assert.equal(partial.partial, true);
  assert.equal(partial.filled, 40);
  assert.equal(partial.of, 100);
  assert.equal(full.partial, false);
  assert.equal(full.filled, 100);
  assert.deepEqual(notificationText(partial), {
    title: 'Partial fill: MSFT',
    body: 'Buy to Open 40 MSFT @ 410.25 (40 of 100) · account T1',
  });
  assert.deepEqual(notificationText(full), {
    title: 'Filled: MSFT',
    body: 'Buy to Open 60 MSFT @ 410.50 (100 of 100) · account T1',
  });
});

test('a market order filled at once: one full fill; the same frame again adds nothing', () => {
  const t = tab(snap([]));
  const filled = order('12', 'Filled', [fill('12:100', 100)]);
  t.feed(orderFrame(6, order('12', 'Received')), orderFrame(7, filled), orderFrame(7, filled));
  assert.deepEqual(keys(t.events), ['fill:1:12:12:100']);
  assert.equal(t.events[0].partial, false);
  assert.equal(t.events[0].account, 'T1');
  assert.equal(t.events[0].link, '1');
  assert.equal(t.events[0].orderId, '12');
});

test('a fill of a leg without a quantity: partial unless the order is Filled', () => {
  const t = tab(snap([]));
  const legless = (status, fills) => ({ ...order('5', status), legs: [{ symbol: 'AAPL', action: 'Sell to Close', fills }] });
  t.feed(orderFrame(6, legless('Partially Filled', [fill('a', 1)])), orderFrame(7, legless('Filled', [fill('a', 1), fill('b', 2)])));
  assert.deepEqual(t.events.map((e) => [e.key, e.partial]), [['fill:1:5:a', true], ['fill:1:5:b', false]]);
});

test('a rejection: one event, with the broker\'s reason when it gives one', () => {
  const t = tab(snap([order('3', 'Received')]));
  t.feed(orderFrame(6, order('3', 'Rejected', [], { reject_reason: 'Not enough buying power' })));
  t.feed(orderFrame(7, order('3', 'Rejected', [], { reject_reason: 'Not enough buying power', updated_at: T + 1 })));
  assert.deepEqual(keys(t.events), ['rejected:1:3']);
  assert.deepEqual(notificationText(t.events[0]), {
    title: 'Order rejected: MSFT',
    body: 'Buy to Open 100 MSFT, Limit 410.50 · account T1: Not enough buying power',
  });
  // cancelled or expired orders are not news
  t.feed(orderFrame(8, order('4', 'Cancelled')), orderFrame(9, order('6', 'Expired')));
  assert.equal(t.events.length, 1);
});

test('a triggered alert frame: one event; a replay of the same trigger adds nothing', () => {
  const t = tab(snap([]));
  t.feed(alertFrame(6, trigger(31)), alertFrame(6, trigger(31)));
  assert.deepEqual(keys(t.events), ['alert:31']);
  assert.equal(t.events[0].kind, 'alert');
  assert.deepEqual(notificationText(t.events[0]), { title: 'Alert: SPY', body: 'SPY rose above 600.00 (600.12).' });
});

test('a fill while disconnected arrives after `resumed`: exactly one event', () => {
  const t = tab(snap([order('9', 'Live')]));
  t.feed(
    { type: 'hello', epoch: 'E1', seq: 7 },
    orderFrame(6, order('9', 'Filled', [fill('9:100', 100)])), // held until `resumed`
    { type: 'resumed', epoch: 'E1', from: 5, count: 2 },
    alertFrame(7, trigger(40)),
    orderFrame(6, order('9', 'Filled', [fill('9:100', 100)])), // a duplicate
  );
  assert.deepEqual(keys(t.events), ['fill:1:9:9:100', 'alert:40']);
});

test('after a resync snapshot: only what changed versus what the tab knew', () => {
  const t = tab(snap([order('1', 'Filled', [fill('1:100', 100)]), order('2', 'Live'), order('3', 'Live')], {
    alert_triggers: [trigger(20)],
  }));
  t.feed(
    { type: 'hello', epoch: 'E2', seq: 3 },
    snap([
      order('1', 'Filled', [fill('1:100', 100)]), // known, unchanged
      order('2', 'Filled', [fill('2:40', 40), fill('2:100', 60)]), // filled while away
      order('3', 'Rejected'), // rejected while away
      order('4', 'Partially Filled', [fill('4:10', 10)]), // placed and partly filled while away
      order('8', 'Cancelled'), // not news
    ], { epoch: 'E2', seq: 3, alert_triggers: [trigger(22), trigger(21), trigger(20)] }),
  );
  assert.deepEqual(keys(t.events).sort(), [
    'alert:21', 'alert:22', 'fill:1:2:2:100', 'fill:1:2:2:40', 'fill:1:4:4:10', 'rejected:1:3',
  ]);
  // the same snapshot again: nothing new
  t.feed({ type: 'hello', epoch: 'E2', seq: 3 }, snap([order('2', 'Filled', [fill('2:40', 40), fill('2:100', 60)])], { epoch: 'E2', seq: 3, alert_triggers: [trigger(22)] }));
  assert.equal(t.events.length, 6);
});

test('a page without an epoch: the stream\'s first snapshot is the baseline', () => {
  const t = tab(snap([], { epoch: null, seq: 0 }));
  t.feed({ type: 'hello', epoch: 'E1', seq: 5 }, snap([order('1', 'Filled', [fill('1:1', 1)])], { alert_triggers: [trigger(3)] }));
  assert.deepEqual(t.events, []);
  t.feed(orderFrame(6, order('2', 'Filled', [fill('2:1', 1)])), alertFrame(7, trigger(4)));
  assert.deepEqual(keys(t.events), ['fill:1:2:2:1', 'alert:4']);
});

// ------------------------------------------------------------------ once per browser

/** localStorage's interface over a Map (shared by "tabs"). */
function fakeStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => { m.set(k, String(v)); }, m };
}

test('claim: the first tab (or page life) to claim a key raises it; the rest do not', () => {
  const storage = fakeStorage();
  assert.equal(claim(storage, 'demo', 'fill:1:9:9:100', T), true);
  assert.equal(claim(storage, 'demo', 'fill:1:9:9:100', T + 5), false); // another tab, a reload
  assert.equal(claim(storage, 'demo', 'alert:31', T + 6), true);
  assert.equal(claim(storage, 'other', 'alert:31', T + 7), true); // per user
  assert.deepEqual(Object.keys(JSON.parse(storage.getItem('streamdesk.notified.demo'))), ['fill:1:9:9:100', 'alert:31']);
});

test('claim: the record is bounded (newest kept) and forgets keys older than its TTL', () => {
  const storage = fakeStorage();
  for (let i = 0; i < NOTIFIED_MAX + 20; i += 1) claim(storage, 'u', `alert:${i}`, T + i);
  const record = JSON.parse(storage.getItem('streamdesk.notified.u'));
  assert.equal(Object.keys(record).length, NOTIFIED_MAX);
  assert.equal(record['alert:19'], undefined);
  assert.equal(record['alert:20'], T + 20);
  assert.equal(claim(storage, 'u', 'alert:600', T + NOTIFIED_TTL_MS + 600), true);
  assert.equal(Object.keys(JSON.parse(storage.getItem('streamdesk.notified.u'))).length, 1);
});

test('claim: broken or missing storage still raises (a notification twice beats none)', () => {
  const broken = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('denied'); } };
  assert.equal(claim(broken, 'u', 'alert:1', T), true);
  assert.equal(claim(null, 'u', 'alert:1', T), true);
  const garbage = fakeStorage();
  garbage.setItem('streamdesk.notified.u', '{not json');
  assert.equal(claim(garbage, 'u', 'alert:1', T), true);
  assert.equal(claim(garbage, 'u', 'alert:1', T), false);
});

// ------------------------------------------------------------------ settings, history

test('settings: defaults, only booleans taken, and which kinds are wanted', () => {
  assert.deepEqual(DEFAULT_SETTINGS, { fills: true, rejections: true, alerts: true, desktop: true, sound: false });
  assert.deepEqual(settingsOf(null), DEFAULT_SETTINGS);
  assert.deepEqual(settingsOf({ fills: false, sound: true, bogus: 1, alerts: 'no' }), { ...DEFAULT_SETTINGS, fills: false, sound: true });
  const off = settingsOf({ fills: false });
  assert.equal(wanted({ kind: 'fill' }, off), false);
  assert.equal(wanted({ kind: 'rejected' }, off), true);
  assert.equal(wanted({ kind: 'alert' }, off), true);
  assert.equal(wanted({ kind: 'rejected' }, settingsOf({ rejections: false })), false);
  assert.equal(wanted({ kind: 'alert' }, settingsOf({ alerts: false })), false);
  assert.equal(wanted({ kind: 'other' }, DEFAULT_SETTINGS), false);
});

test('history: newest first, bounded; ages in words', () => {
  let h = [];
  for (let i = 0; i < 60; i += 1) h = addToHistory(h, { key: `alert:${i}` }, 50);
  assert.equal(h.length, 50);
  assert.equal(h[0].key, 'alert:59');
  assert.equal(h[49].key, 'alert:10');
  assert.equal(ageText(T, T + 400), 'just now');
  assert.equal(ageText(T, T + 12_000), '12 s ago');
  assert.equal(ageText(T, T + 180_000), '3 min ago');
  assert.equal(ageText(T, T + 2 * 3_600_000), '2 h ago');
});

test('a fill, a rejection and an alert name each instrument as a trader reads it, never its raw symbol', () => {
  const t = tab(snap([]));
  const coinLeg = (fills) => [{ symbol: 'BTCUSD', streamer_symbol: 'BTC/USD:CXTALP', display: 'BTC/USD', instrument_type: 'Cryptocurrency', action: 'sell', quantity: 0.25, remaining_quantity: 0, fills }];
  const coin = (status, fills) => ({ id: 'c1', status, underlying: 'BTC/USD:CXTALP', display: 'BTC/USD', order_type: 'Limit', price: 95000, legs: coinLeg(fills) });
  t.feed(orderFrame(6, coin('Live', [])), orderFrame(7, coin('Filled', [{ id: 'c1:0.25', quantity: 0.25, price: 95012.41, at: T }])));
  assert.deepEqual(notificationText(t.events[0]), { title: 'Filled: BTC/USD', body: 'sell 0.25 BTC/USD @ 95,012.41 (0.25 of 0.25) · account T1' });
  // an option's order frame before the server named it: its OCC symbol read by the browser
  const occ = { id: 'o1', status: 'Rejected', underlying: 'SPY', order_type: 'Limit', price: 2.35, legs: [{ symbol: 'SPY270115C00590000', instrument_type: 'Equity Option', action: 'Buy to Open', quantity: 2, fills: [] }] };
  t.feed(orderFrame(8, occ));
  assert.deepEqual(notificationText(t.events[1]), { title: 'Order rejected: SPY', body: 'Buy to Open 2 SPY 15 Jan 27 590 C, Limit 2.35 · account T1' });
  t.feed(alertFrame(9, { id: 77, symbol: './ESZ26C6000:XCME', display: '/ES Dec 26 6000 C', price: 50.25, message: '' }));
  assert.deepEqual(notificationText(t.events[2]), { title: 'Alert: /ES Dec 26 6000 C', body: '/ES Dec 26 6000 C at 50.25' });
});
