// The dashboard's reducer (static/js/stream/state.js): a snapshot, then frames, as
// docs/streaming-contract.md says they apply. Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import {
  addExtraSymbols, adoptWatchlist, applyFrame, applySnapshot, comparable, forgetPosition,
  initialState, isSimulated, orderedOrders, removeExtraSymbols, resumePosition, takeEffects,
} from '../../static/js/stream/state.js';

const T = 1_760_000_000_000;

const link = (id, extra = {}) => ({ id, broker: 'tastytrade', label: `link ${id}`, state: 'live', simulated: true, ...extra });
const pos = (symbol, quantity, extra = {}) => ({ symbol, streamer_symbol: symbol, quantity, direction: 'Long', average_open_price: 10, close_price: 11, multiplier: 1, ...extra });
const fill = (id, quantity, price = 10) => ({ id, quantity, price, at: null });
const order = (id, status, fills = [], extra = {}) => ({
  id, status, order_type: 'Limit', price: 10, underlying: 'SPY', updated_at: null,
  legs: [{ symbol: 'SPY', action: 'Buy to Open', quantity: 3, remaining_quantity: 3 - fills.reduce((n, f) => n + f.quantity, 0), fills }],
  ...extra,
});
const snap = (extra = {}) => ({
  type: 'snapshot', epoch: 'E1', seq: 5, simulated: true,
  accounts: [{ number: 'T1', link: 1, broker: 'tastytrade', label: 'link 1', simulated: true, balance: { net_liquidating_value: 100, cash: 10 }, positions: [pos('SPY', 10)] }],
  quotes: { SPY: { bid: 500, ask: 501, last: 500.5, t: T } },
  greeks: {},
  orders: [{ ...order('77', 'Live', [fill('77:1', 1)]), link: 1, account: 'T1' }],
  links: [link(1)],
  watchlist: { symbols: ['SPY', 'QQQ'], version: 3 },
  subscriptions: ['SPY', 'QQQ'],
  t: T,
  ...extra,
});
const frame = (type, seq, body, extra = {}) => ({
  type, epoch: 'E1', seq, account: 'T1', link: 1, t: T, simulated: true,
  [type === 'positions' ? 'positions' : type === 'position' ? 'position' : type === 'order' ? 'order' : 'balance']: body,
  ...extra,
});

/** Apply frames in order. */
const run = (state, ...frames) => frames.reduce(applyFrame, state);
const live = () => takeEffects(run(initialState(), snap()))[0]; // the first list asked SSE for a reopen
const effects = (state) => takeEffects(state)[1];

test('a snapshot replaces everything and gives a position to resume from', () => {
  const s = live();
  assert.equal(s.epoch, 'E1');
  assert.equal(s.seq, 5);
  assert.equal(resumePosition(s), 'E1:5');
  assert.equal(s.snapshots, 1);
  assert.equal(s.accounts.get('T1').balance.net_liquidating_value, 100);
  assert.deepEqual(Array.from(s.accounts.get('T1').positions.keys()), ['SPY']);
  assert.deepEqual(s.watchlist, { symbols: ['SPY', 'QQQ'], version: 3 });
  assert.deepEqual(s.subscriptions, ['SPY', 'QQQ']);
  assert.equal(s.newestQuoteT, T);
  assert.deepEqual(Array.from(s.orders.keys()), ['1:77']);
  // a page rendered before the stream answered has no epoch: nothing to resume from
  assert.equal(resumePosition(applySnapshot(initialState(), snap({ epoch: undefined }), 'page')), null);
  // only the stream's snapshot names the subscriptions
  assert.deepEqual(applySnapshot(initialState(), snap(), 'poll').subscriptions, []);
});

test('the reducer never changes the state it is given', () => {
  const s = live();
  const before = structuredClone(s);
  run(s,
    frame('balance', 6, { net_liquidating_value: 1 }),
    frame('position', 7, pos('SPY', 0)),
    frame('order', 8, order('77', 'Filled', [fill('77:3', 3)])),
    { type: 'quotes', quotes: { SPY: { bid: 1 } }, greeks: { SPY: { delta: 1 } }, t: T + 1 },
    { type: 'status', link: link(1, { state: 'stale' }) },
    { type: 'watchlist', symbols: ['AMD'], version: 9 },
    { type: 'subscribed', symbols: [], rejected: [{ symbol: 'X', reason: 'invalid_symbol' }] },
    frame('balance', 20, {}),
    snap({ seq: 30 }));
  assert.deepEqual(s, before);
});

test('account frames apply in seq order; a duplicate changes nothing', () => {
  let s = run(live(), frame('balance', 6, { net_liquidating_value: 101 }));
  assert.equal(s.accounts.get('T1').balance.net_liquidating_value, 101);
  assert.equal(s.accounts.get('T1').balance.cash, 10, 'a balance frame updates the fields it carries');
  const again = run(s, frame('balance', 6, { net_liquidating_value: 999 }), frame('balance', 2, { net_liquidating_value: 998 }));
  assert.equal(again.accounts.get('T1').balance.net_liquidating_value, 101);
  assert.equal(again.accounts, s.accounts, 'not even a copy');
  s = run(again, frame('balance', 7, { net_liquidating_value: 102 }));
  assert.equal(resumePosition(s), 'E1:7');
  assert.deepEqual(effects(s), []);
});

test('a gap asks for a reconnect from our position; nothing after it applies', () => {
  const s = run(live(), frame('balance', 7, { net_liquidating_value: 1 }), frame('balance', 6, { net_liquidating_value: 2 }));
  assert.equal(s.accounts.get('T1').balance.net_liquidating_value, 100);
  assert.equal(s.awaitingSnapshot, true);
  assert.equal(resumePosition(s), 'E1:5', 'the server replays from here');
  assert.deepEqual(effects(s).map((e) => [e.type, e.resume]), [['resync', true]]);
  assert.equal(s.pending.length, 1, 'frames held until the snapshot');
});

test('a frame of another epoch is never applied: a fresh snapshot', () => {
  const s = run(live(), frame('balance', 6, { net_liquidating_value: 555 }, { epoch: 'E2' }));
  assert.equal(s.accounts.get('T1').balance.net_liquidating_value, 100);
  assert.equal(resumePosition(s), null);
  assert.deepEqual(effects(s).map((e) => [e.type, e.resume]), [['resync', false]]);
  const fresh = run(s, { type: 'hello', epoch: 'E2', seq: 1 }, snap({ epoch: 'E2', seq: 1 }));
  assert.equal(resumePosition(fresh), 'E2:1');
});

test('frames before the snapshot wait for it; those it includes are duplicates', () => {
  const s = run(initialState(),
    { type: 'hello', epoch: 'E1', seq: 7, limits: { max_symbols_per_message: 10 }, stale_after_ms: { quotes: 4000 } },
    frame('balance', 7, { net_liquidating_value: 107 }),
    frame('balance', 5, { net_liquidating_value: 105 }),
    frame('balance', 6, { net_liquidating_value: 106 }),
    frame('balance', 6, { net_liquidating_value: 666 }, { epoch: 'E0' }));
  assert.equal(s.pending.length, 4);
  assert.equal(s.limits.max_symbols_per_message, 10);
  assert.equal(s.staleAfterMs, 4000);
  const after = applyFrame(s, snap());
  assert.equal(after.accounts.get('T1').balance.net_liquidating_value, 107);
  assert.equal(after.seq, 7);
  assert.equal(after.pending.length, 0);
  assert.deepEqual(effects(after).map((e) => e.type), ['watchlist'], 'no resync: only the first list');
});

test('resumed: the missed frames follow; a resume of another epoch resyncs', () => {
  const s = run(live(), { type: 'hello', epoch: 'E1', seq: 6 }, frame('balance', 6, { net_liquidating_value: 106 }));
  assert.equal(s.accounts.get('T1').balance.net_liquidating_value, 100, 'held until resumed');
  const resumed = applyFrame(s, { type: 'resumed', epoch: 'E1', from: 5, count: 1 });
  assert.equal(resumed.accounts.get('T1').balance.net_liquidating_value, 106);
  assert.equal(resumed.awaitingSnapshot, false);
  const wrong = run(live(), { type: 'hello', epoch: 'E3', seq: 0 }, { type: 'resumed', epoch: 'E3', from: 5, count: 0 });
  assert.equal(resumePosition(wrong), null);
  assert.deepEqual(effects(wrong).map((e) => e.type), ['resync']);
  const ahead = run(live(), { type: 'hello' }, { type: 'resumed', epoch: 'E1', from: 9, count: 0 });
  assert.deepEqual(effects(ahead).map((e) => e.type), ['resync'], 'the server resumes after what we hold');
});

test('an order frame replaces the order: a fill is never counted twice', () => {
  let s = run(live(), frame('order', 6, order('77', 'Partially Filled', [fill('77:1', 1), fill('77:2', 1)])));
  const fills = (st, key = '1:77') => st.orders.get(key).legs.flatMap((l) => l.fills.map((f) => f.id));
  assert.deepEqual(fills(s), ['77:1', '77:2']);
  const stored = s.orders.get('1:77');
  assert.equal(stored._account, 'T1');
  // the same frame again (another seq, as a replay after a resume would carry): same object
  const replay = applyFrame(s, frame('order', 7, order('77', 'Partially Filled', [fill('77:1', 1), fill('77:2', 1)])));
  assert.equal(replay.orders.get('1:77'), stored);
  // the broker rewrote the fills (one corrected execution): replaced, not merged
  s = applyFrame(replay, frame('order', 8, order('77', 'Filled', [fill('77:2', 2, 10.05)])));
  assert.deepEqual(fills(s), ['77:2']);
  assert.equal(s.orders.get('1:77').status, 'Filled');
  // the same broker id on another link is another order, listed first (newest change)
  s = applyFrame(s, frame('order', 9, order('77', 'Live'), { account: 'A9', link: 2 }));
  assert.deepEqual(orderedOrders(s).map((o) => o._key), ['2:77', '1:77']);
  assert.deepEqual(fills(s), ['77:2']);
});

test('a snapshot is the authority on orders, but finished ones stay', () => {
  const s = run(live(), frame('order', 6, order('78', 'Filled', [fill('78:3', 3)])), frame('order', 7, order('79', 'Live')));
  const fresh = applyFrame(s, snap({ seq: 7, orders: [] }));
  assert.deepEqual(Array.from(fresh.orders.keys()), ['1:78'], 'live orders the snapshot does not list are gone');
});

test('the newest 50 orders and every working one are kept: the oldest finished ones go', () => {
  let s = live(); // holds '1:77', Live, without a time
  for (let i = 0; i < 60; i++) s = applyFrame(s, frame('order', 6 + i, order(`o${i}`, 'Filled', [], { updated_at: T + i * 1000 })));
  assert.equal(s.orders.size, 51, '50 newest + the working one');
  assert.equal(s.orders.has('1:77'), true, 'a working order is kept however old');
  assert.equal(s.orders.has('1:o9'), false);
  assert.equal(s.orders.has('1:o10'), true);
  assert.deepEqual(orderedOrders(s).slice(0, 2).map((o) => o._key), ['1:o59', '1:o58'], 'newest first by updated_at');
  assert.equal(orderedOrders(s).at(-1)._key, '1:77', 'no time sorts last');
  const same = applyFrame(s, frame('order', 66, order('o59', 'Filled', [], { updated_at: T + 59 * 1000 })));
  assert.equal(same.orders, s.orders, 'a replayed frame keeps the bounded Map as it is');
});

test('positions: a list replaces, a position merges, quantity 0 closes', () => {
  let s = applyFrame(live(), frame('positions', 6, [pos('SPY', 10), pos('QQQ', 5), pos('GONE', 0)]));
  assert.deepEqual(Array.from(s.accounts.get('T1').positions.keys()), ['SPY', 'QQQ']);
  s = applyFrame(s, frame('position', 7, { symbol: 'SPY', quantity: 12 }));
  assert.equal(s.accounts.get('T1').positions.get('SPY').quantity, 12);
  assert.equal(s.accounts.get('T1').positions.get('SPY').average_open_price, 10, 'fields it does not carry stay');
  s = applyFrame(s, frame('position', 8, { symbol: 'QQQ', quantity: 0 }));
  s = applyFrame(s, frame('position', 9, { symbol: 'SPY', quantity: 3, direction: 'Zero' }));
  assert.equal(s.accounts.get('T1').positions.size, 0);
  // an account first seen in a frame takes its broker and label from its link
  s = applyFrame(s, frame('balance', 10, { cash: 1 }, { account: 'NEW', link: 1 }));
  assert.deepEqual([s.accounts.get('NEW').broker, s.accounts.get('NEW').label, s.accounts.get('NEW').simulated], ['tastytrade', 'link 1', true]);
});

test('quotes: latest wins, absent is unchanged, null is no value, time never goes back', () => {
  let s = applyFrame(live(), { type: 'quotes', quotes: { SPY: { bid: 502, ask: null } }, greeks: { SPY: { delta: 1 } }, t: T + 100 });
  assert.deepEqual(s.quotes.get('SPY'), { bid: 502, ask: null, last: 500.5, t: T + 100 });
  assert.equal(s.newestQuoteT, T + 100);
  s = applyFrame(s, { type: 'quotes', quotes: { SPY: { last: 499, t: T + 50 } }, t: T + 200 });
  assert.equal(s.quotes.get('SPY').last, 499);
  assert.equal(s.quotes.get('SPY').t, T + 100, 'a late print does not age the quote');
  s = applyFrame(s, { type: 'quotes', quotes: { QQQ: { bid: 400, t: T + 900, delayed: true } }, greeks: { SPY: { gamma: 2 } } });
  assert.equal(s.newestQuoteT, T + 100, 'a delayed quote never makes the data fresh');
  assert.deepEqual(s.greeks.get('SPY'), { delta: 1, gamma: 2 });
  const same = applyFrame(s, { type: 'quotes', quotes: {}, greeks: {} });
  assert.equal(same.quotes, s.quotes);
});

test('the watchlist: a newer version replaces it, the snapshot at the same version too', () => {
  let s = applyFrame(live(), { type: 'watchlist', symbols: ['OLD'], version: 2 });
  assert.deepEqual(s.watchlist.symbols, ['SPY', 'QQQ']);
  assert.deepEqual(effects(s), []);
  s = applyFrame(s, { type: 'watchlist', symbols: ['SPY', 'AAPL'], version: 4 });
  assert.deepEqual(s.watchlist, { symbols: ['SPY', 'AAPL'], version: 4 });
  assert.deepEqual(effects(s), [{ type: 'watchlist' }], 'SSE reopens for the new list');
  [s] = takeEffects(s);
  s = applyFrame(s, { type: 'watchlist', symbols: ['SPY', 'AAPL'], version: 5 });
  assert.deepEqual(effects(s), [], 'the same list at a new version asks nothing');
  assert.equal(adoptWatchlist(s, { symbols: ['X'], version: 5 }, false), s, 'the same version from a POST');
  assert.deepEqual(adoptWatchlist(s, { symbols: ['X'], version: 5 }, true).watchlist.symbols, ['X'], 'a snapshot is the authority');
});

test('subscribed: a rejection is told once; a later subscription clears it', () => {
  const rej = { type: 'subscribed', symbols: ['SPY'], rejected: [{ symbol: 'BAD', reason: 'invalid_symbol' }] };
  let s = run(live(), rej);
  assert.deepEqual(effects(s), [{ type: 'rejected', symbol: 'BAD', reason: 'invalid_symbol' }]);
  [s] = takeEffects(s);
  s = applyFrame(s, rej);
  assert.deepEqual(effects(s), [], 'the resubscribe after a reconnect');
  assert.equal(s.rejected.get('BAD'), 'invalid_symbol');
  s = applyFrame(s, { type: 'subscribed', symbols: ['SPY', 'BAD'], rejected: [] });
  assert.equal(s.rejected.has('BAD'), false);
});

test('link status and the simulated mark', () => {
  let s = applyFrame(initialState(), { type: 'status', link: link(2, { state: 'reconnecting', simulated: false }) });
  assert.equal(s.links.get('2').state, 'reconnecting');
  assert.equal(isSimulated(s), false);
  s = applyFrame(s, { type: 'status', link: link(2, { state: 'live' }) });
  assert.equal(s.links.get('2').state, 'live');
  assert.equal(isSimulated(s), true);
  assert.equal(applyFrame(s, { type: 'status' }), s);
});

test('errors, pongs, unknown frames', () => {
  const s = live();
  assert.equal(applyFrame(s, { type: 'pong', id: 1 }), s);
  assert.equal(applyFrame(s, { type: 'from-the-future' }), s);
  assert.equal(applyFrame(s, null), s);
  assert.deepEqual(effects(applyFrame(s, { type: 'error', code: 'rate_limited' })).map((e) => e.type), ['error']);
});

test('the position is forgotten on 4409; extra symbols are the tab\'s', () => {
  assert.equal(resumePosition(forgetPosition(live())), null);
  const { state, changed } = addExtraSymbols(initialState(), ['A', 'B', 'A']);
  assert.deepEqual(changed, ['A', 'B']);
  assert.deepEqual(addExtraSymbols(state, ['B']).changed, []);
  const removed = removeExtraSymbols(state, ['B', 'C']);
  assert.deepEqual(removed.changed, ['B']);
  assert.deepEqual(Array.from(removed.state.extraSymbols), ['A']);
});

test('comparable(): only what a snapshot carries, keys sorted', () => {
  const s = run(live(), frame('order', 6, order('77', 'Filled', [fill('77:3', 3)])), { type: 'quotes', quotes: { SPY: { bid: 1 } }, t: T });
  const c = comparable(s);
  assert.deepEqual(Object.keys(c), ['accounts', 'epoch', 'greeks', 'metrics', 'orders', 'quotes', 'seq', 'watchlist']);
  assert.deepEqual(Object.keys(c.accounts), ['1:T1']);
  assert.deepEqual(c.accounts['1:T1'].positions.map((p) => p.symbol), ['SPY']);
  assert.equal(c.orders['1:77'].account, 'T1');
  assert.equal(c.orders['1:77'].link, undefined, 'the link is in the key');
  assert.equal(c.orders['1:77']._rank, undefined);
  assert.equal(c.quotes.SPY.delayed, false);
  assert.equal(c.seq, 6);
  // a snapshot's order (with link and account) projects as the same order from a frame
  const fresh = comparable(applySnapshot(initialState(), snap({ seq: 6, orders: [{ ...order('77', 'Filled', [fill('77:3', 3)]), link: 1, account: 'T1' }] }), 'page'));
  assert.deepEqual(fresh.orders, c.orders);
});
