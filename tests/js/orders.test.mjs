// static/js/stream/orders.js: the orders panel's rules (docs/streaming-contract.md "Orders"),
// the same as the server's streaming/order_list.py (tests/streaming/test_order_list.py).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import {
  ENDED_STATUSES, FILLED_STATUSES, ORDERS_KEPT, STATUS_GROUPS, accountName, addOlderPage, boundOrders, compareOrders,
  exportHref, formatCursor, keepGone, linkOf, matchesFilter, newestFirst, noOlder, olderCursor, olderQuery, panelList,
  ROLE_ORDER, cancelQuestion, groupSizes, linkedTogether, sortKey, statusGroup, windowFloor,
} from '../../static/js/stream/orders.js';

const T = 1_760_000_000_000;
/** A state order (as the reducer stores it: `_key`, `_account`, no `link`). */
const mine = (link, id, status, t, account = 'A1') => ({ id, status, updated_at: t, legs: [], _key: `${link}:${id}`, _account: account });
/** An API order (`link`, `account`, `broker`). */
const api = (link, id, status, t, account = 'A1') => ({ id, status, updated_at: t, legs: [], link, account, broker: 'tradier' });
const mapOf = (orders) => new Map(orders.map((o) => [o._key, o]));

const DOC = readFileSync(new URL('../../docs/streaming-contract.md', import.meta.url), 'utf8');

test('the status groups are the documented ones', () => {
  const row = (name) => DOC.split('\n').map((l) => l.trim()).find((l) => l.startsWith(`| \`${name}\` |`));
  const statuses = (name) => new Set([...row(name).split('|')[2].matchAll(/`([^`]+)`/g)].map((m) => m[1]));
  assert.deepEqual(statuses('filled'), FILLED_STATUSES);
  assert.deepEqual(statuses('ended'), ENDED_STATUSES);
  assert.deepEqual(Object.keys(STATUS_GROUPS), ['all', 'working', 'filled', 'ended']);
  assert.equal(statusGroup('Filled'), 'filled');
  assert.equal(statusGroup('Expired'), 'ended');
  for (const s of ['Received', 'Routed', 'Live', 'Partially Filled', 'Cancel Requested', 'Contingent', 'Unknown', undefined]) {
    assert.equal(statusGroup(s), 'working', s);
  }
});

test('newest first by the time placed, then link, then id; a missing time is oldest', () => {
  const moved = { ...mine(1, 'old', 'Filled', T + 99), received_at: T - 5 }; // changed later, placed earlier
  assert.deepEqual(newestFirst([moved, mine(1, 'new', 'Live', T)]).map((o) => o.id), ['new', 'old']);
  const list = [mine(1, '9', 'Live', T), mine(2, '1', 'Live', T), mine(1, '10', 'Live', T), mine(3, 'x', 'Live', null), mine(1, '5', 'Live', T + 1)];
  assert.deepEqual(newestFirst(list).map((o) => o._key), ['1:5', '2:1', '1:9', '1:10', '3:x']);
  // ids compare as text, on both sides (Python compares str too): '9' > '10'
  assert.ok(compareOrders(mine(1, '9', 'Live', T), mine(1, '10', 'Live', T)) < 0);
  assert.deepEqual(sortKey(api(4, 'ab:cd', 'Live', T)), [T, 4, 'ab:cd']);
  assert.equal(linkOf(mine(12, 'ab:cd', 'Live', T)), 12, 'the link from the key, with a colon in the id');
});

test('the bound keeps the newest 50, every working order and those changed last, and the same Map when nothing goes', () => {
  const orders = [];
  // the state's `_rank` counts changes: these were placed and changed in this order
  orders.push({ ...mine(1, 'old-live', 'Live', T - 10_000), _rank: 1 }, { ...mine(1, 'old-cxl', 'Cancelled', T - 10_000), _rank: 2 });
  for (let i = 0; i < 70; i++) orders.push({ ...mine(1, `f${i}`, 'Filled', T + i), _rank: 3 + i });
  const kept = boundOrders(mapOf(orders));
  assert.equal(kept.size, ORDERS_KEPT + 1);
  assert.ok(kept.has('1:old-live') && !kept.has('1:old-cxl') && kept.has('1:f20') && !kept.has('1:f19'));
  assert.equal(boundOrders(kept), kept);
  // an old order that changed last stays (its step still holds it: a fill notifies)
  const changed = new Map(kept).set('1:old-cxl', { ...mine(1, 'old-cxl', 'Cancelled', T - 10_000), _rank: 999 });
  assert.ok(boundOrders(changed).has('1:old-cxl'));
  const few = mapOf(orders.slice(0, 3));
  assert.equal(boundOrders(few), few);
  // the window floor ignores the working orders kept below it
  assert.deepEqual(windowFloor(kept.values()), [T + 20, 1, 'f20']);
  assert.equal(windowFloor([]), null);
});

test('the filter: account and status group', () => {
  const o = mine(1, '1', 'Rejected', T, 'A2');
  assert.ok(matchesFilter(o, { account: '', status: 'all' }));
  assert.ok(matchesFilter(o, { account: 'A2', status: 'ended' }));
  assert.ok(!matchesFilter(o, { account: 'A1', status: 'all' }));
  assert.ok(!matchesFilter(o, { account: '', status: 'working' }));
  assert.ok(matchesFilter(api(1, '2', 'Filled', T, 'A2'), { account: 'A2', status: 'filled' }), 'an API order by its `account`');
});

test('an order names its broker and account as the cards do, from the account, else its link', () => {
  const accounts = new Map([['A1', { broker: 'tastytrade', label: 'Margin' }]]);
  const links = new Map([['2', { broker: 'alpaca', label: 'Paper' }]]);
  assert.deepEqual(accountName(mine(1, '1', 'Live', T, 'A1'), accounts, links), { broker: 'tastytrade', label: 'Margin', number: 'A1', text: 'Margin A1' });
  assert.deepEqual(accountName(mine(2, '1', 'Live', T, 'B7'), accounts, links), { broker: 'alpaca', label: 'Paper', number: 'B7', text: 'Paper B7' });
  assert.equal(accountName(api(9, '1', 'Live', T, 'C3'), accounts, links).broker, 'tradier', "else the order's own broker");
});

test('older pages: the first cursor is the window floor, then the server\'s `next`; the state\'s copy wins', () => {
  const state = [];
  for (let i = 0; i < 55; i++) state.push(mine(1, `s${i}`, 'Filled', T + i * 10));
  state.push(mine(1, 'gtc', 'Live', T - 99_000));
  let older = noOlder();
  assert.equal(olderCursor(state, older), formatCursor([T + 50, 1, 's5']));
  assert.equal(olderCursor([], older), null, 'nothing held: from the newest');
  assert.equal(olderQuery({ account: 'A1', status: 'filled' }, 'c:1:x y', 50), 'account=A1&status=filled&before=c%3A1%3Ax+y&limit=50');
  assert.equal(olderQuery({ account: '', status: 'all' }, null, 50), 'limit=50');

  older = addOlderPage(older, { orders: [api(1, 's4', 'Filled', T + 40), api(1, 'gtc', 'Filled', T - 99_000), api(2, 'z', 'Cancelled', T - 5)], next: '1:2:z' });
  assert.equal(olderCursor(state, older), '1:2:z');
  const filter = { account: '', status: 'all' };
  const held = state.filter((o) => !['s0', 's1', 's2', 's3', 's4'].includes(o.id)); // the bound let them go
  const rows = panelList(held, older, filter);
  const gtc = rows.find((r) => r.key === '1:gtc');
  assert.equal(gtc.older, false, 'an order in the state is its copy (a frame replaced it)');
  assert.equal(gtc.order.status, 'Live');
  assert.deepEqual(rows.slice(-3).map((r) => [r.key, r.older]), [['1:s4', true], ['2:z', true], ['1:gtc', false]]);
  assert.equal(new Set(rows.map((r) => r.key)).size, rows.length, 'every order once');

  older = addOlderPage(older, { orders: [], next: null });
  assert.ok(older.done);
  assert.equal(older.items.length, 3);
});

test('orders the state lets go of stay listed once older pages were read, not before', () => {
  const gone = [mine(1, 'a', 'Filled', T)];
  const before = noOlder();
  assert.equal(keepGone(before, gone), before);
  const paged = addOlderPage(before, { orders: [api(1, 'b', 'Filled', T - 1)], next: '1:1:b' });
  assert.deepEqual(keepGone(paged, gone).items.map((o) => o.id), ['a', 'b']);
});

test('export links carry the account and the time zone', () => {
  assert.equal(exportHref('/api/exports/orders.csv', '', 'Europe/Berlin'), '/api/exports/orders.csv?tz=Europe%2FBerlin');
  assert.equal(exportHref('/api/exports/fills.csv', '5WT1', ''), '/api/exports/fills.csv?account=5WT1');
  assert.equal(exportHref('/api/exports/fills.csv', '', ''), '/api/exports/fills.csv');
});

test('an old working order that fills beyond the newest 50 stays in the step that filled it: the fill notifies', async () => {
  const { applyFrame, applySnapshot, initialState } = await import('../../static/js/stream/state.js');
  const { createTracker, deriveEvents } = await import('../../static/js/stream/notify.js');
  const leg = (fills) => [{ symbol: 'F', action: 'Buy to Open', quantity: 1, remaining_quantity: 1 - fills.length, fills }];
  const gtc = { id: 'gtc', status: 'Live', received_at: T - 86_400_000, updated_at: T - 86_400_000, legs: leg([]), link: 1, account: 'A1' };
  const recent = Array.from({ length: 60 }, (_, i) => ({ id: `f${i}`, status: 'Filled', received_at: T + i, updated_at: T + i, legs: leg([]), link: 1, account: 'A1' }));
  let state = applySnapshot(initialState(), {
    type: 'snapshot', epoch: 'E1', seq: 1, accounts: [], quotes: {}, greeks: {}, links: [], orders: [gtc, ...recent], t: T,
  }, 'stream');
  assert.ok(state.orders.has('1:gtc'), 'working: kept however old');
  const filled = { ...gtc, status: 'Filled', updated_at: T + 100, legs: leg([{ id: 'gtc:1', quantity: 1, price: 12.3, at: T + 100 }]) };
  const next = applyFrame(state, { type: 'order', epoch: 'E1', seq: 2, account: 'A1', link: 1, t: T, order: filled });
  assert.equal(next.orders.get('1:gtc').status, 'Filled', 'no longer working, but changed last: still held');
  const { events } = deriveEvents(createTracker(), state, next, null);
  assert.deepEqual(events.map((e) => e.key), ['fill:1:gtc:gtc:1']);
  state = next;
  for (let i = 0; i < 10; i++) {
    state = applyFrame(state, { type: 'order', epoch: 'E1', seq: 3 + i, account: 'A1', link: 1, t: T, order: { ...recent[59 - i], status: 'Filled', updated_at: T + 200 + i } });
  }
  assert.ok(!state.orders.has('1:gtc'), 'ten changes later the bound lets it go');
});

test('a linked order\'s members are listed together, entry first, at the place of its newest member', () => {
  const g = (id, t, role, gid = 'B1') => ({ ...mine(1, id, 'Live', t), group: { id: gid, class: 'bracket', role } });
  const rows = [
    { key: '1:9', order: mine(1, 9, 'Live', T + 9) },
    { key: '1:sl', order: g('sl', T + 8, 'stop_loss') },
    { key: '1:7', order: mine(1, 7, 'Filled', T + 7) },
    { key: '1:tp', order: g('tp', T + 6, 'take_profit') },
    { key: '1:en', order: g('en', T + 5, 'trigger') },
    { key: '2:en', order: { ...g('en', T + 4, 'trigger'), _key: '2:en' } }, // same group id, another link
  ];
  const listed = linkedTogether(rows);
  assert.deepEqual(listed.map((r) => [r.key, !!r.member]), [
    ['1:9', false], ['1:en', false], ['1:tp', true], ['1:sl', true], ['1:7', false], ['2:en', false],
  ]);
  assert.deepEqual(ROLE_ORDER, ['trigger', 'take_profit', 'stop_loss', 'member']);
  const panel = panelList(mapOf(rows.map((r) => r.order)).values(), noOlder(), { account: '', status: 'all' });
  assert.deepEqual(panel.map((r) => r.key), listed.map((r) => r.key));
});

test('a linked order\'s members carry its size: the orders of the group the panel knows, whatever the filter shows', () => {
  const g = (id, status, role) => ({ ...mine(1, id, status, T), underlying: 'MSFT', group: { id: 'B1', class: 'otoco', role } });
  const orders = [g('en', 'Filled', 'trigger'), g('tp', 'Live', 'take_profit'), g('sl', 'Live', 'stop_loss'), mine(1, 9, 'Live', T + 1)];
  assert.deepEqual([...groupSizes(orders)], [['1|B1', 3]]);
  const working = panelList(mapOf(orders).values(), noOlder(), { account: '', status: 'working' });
  assert.deepEqual(working.map((r) => [r.key, r.size]), [['1:9', undefined], ['1:tp', 3], ['1:sl', 3]]);
  // Cancel on a member asks about its group, which the broker cancels with it
  assert.equal(cancelQuestion(orders[2], orders, '5WT00001'), 'Cancel the OTOCO group on MSFT: 2 working orders (5WT00001)?');
  assert.equal(cancelQuestion(orders[3], orders, '5WT00001'), 'Cancel order 9 (5WT00001)?');
  const last = [g('tp', 'Cancelled', 'take_profit'), g('sl', 'Live', 'stop_loss')];
  assert.equal(cancelQuestion(last[1], last, 'A1'), 'Cancel the OTOCO group on MSFT: 1 working order (A1)?');
});

// ------------------------------------------------------------------ an exit larger than its position

test('a working exit larger than the position it closes is said, a linked group counted once', async () => {
  const { oversizedExits } = await import('../../static/js/stream/orders.js');
  const leg = (symbol, action, quantity, extra = {}) => ({ symbol, action, quantity, remaining_quantity: quantity, fills: [], ...extra });
  const o = (id, status, legs, extra = {}) => ({ id, link: 1, _key: `1:${id}`, _account: 'A1', status, legs, ...extra });
  const position = (symbol, quantity, extra = {}) => ({ symbol, streamer_symbol: symbol, instrument_type: 'Equity', direction: 'Long', quantity, ...extra });
  const accounts = (...positions) => new Map([['A1', { number: 'A1', positions: new Map(positions.map((p) => [p.symbol, p])) }]]);
  // the demo's bracket on MSFT after the generator sold 8 of its 10 shares: its two exits
  // close the same 10 shares (one cancels the other), and 2 are held
  const tp = o('tp', 'Live', [leg('MSFT', 'Sell to Close', 10)], { group: { id: 'g', class: 'otoco', role: 'take_profit' } });
  const sl = o('sl', 'Live', [leg('MSFT', 'Sell to Close', 10)], { group: { id: 'g', class: 'otoco', role: 'stop_loss' } });
  const entry = o('en', 'Filled', [leg('MSFT', 'Buy to Open', 10)], { group: { id: 'g', class: 'otoco', role: 'trigger' } });
  const said = oversizedExits([tp, sl, entry], accounts(position('MSFT', 2)));
  assert.deepEqual([...said], [['1:tp', 'Exits for 10 MSFT, but 2 are held.'], ['1:sl', 'Exits for 10 MSFT, but 2 are held.']]);
  assert.equal(oversizedExits([tp, sl, entry], accounts(position('MSFT', 10))).size, 0, 'an OCO pair over 10 held: one exit, not 20');
  // holding none counts; a second exit adds to the first
  assert.deepEqual([...oversizedExits([tp], accounts())], [['1:tp', 'Exits for 10 MSFT, but none are held.']]);
  const stop = o('st', 'Live', [leg('MSFT', 'Sell to Close', 5)]);
  assert.deepEqual([...oversizedExits([tp, sl, stop], accounts(position('MSFT', 12))).keys()], ['1:tp', '1:sl', '1:st']);
  assert.deepEqual([...oversizedExits([tp, sl, stop], accounts(position('MSFT', 15))).keys()], []);
  // what is left of a partly filled exit; a finished one closes nothing more
  const partly = o('pf', 'Partially Filled', [leg('MSFT', 'Sell to Close', 10, { remaining_quantity: 4 })]);
  assert.equal(oversizedExits([partly], accounts(position('MSFT', 4))).size, 0);
  assert.equal(oversizedExits([o('x', 'Cancelled', [leg('MSFT', 'Sell to Close', 10)])], accounts()).size, 0);
  // a member waiting for its trigger closes what is not opened yet
  const waiting = o('w', 'Contingent', [leg('MSFT', 'Sell to Close', 10)], { group: { id: 'h', class: 'otoco', role: 'stop_loss' } });
  assert.equal(oversizedExits([waiting], accounts()).size, 0);
  // a broker's plain sell closes a long only where one is held (else it opens a short)
  assert.equal(oversizedExits([o('s', 'Live', [leg('AAPL', 'sell', 5)])], accounts()).size, 0);
  assert.deepEqual([...oversizedExits([o('s', 'Live', [leg('AAPL', 'sell', 5)])], accounts(position('AAPL', 3))).values()], ['Exits for 5 AAPL, but 3 are held.']);
  assert.deepEqual([...oversizedExits([o('b', 'Live', [leg('AAPL', 'buy', 5)], { group: { id: 'k', class: 'bracket', role: 'take_profit' } })], accounts()).values()], ['Exits for 5 AAPL, but none are held.'], 'a bracket\'s exit closes by its role');
  // the instrument by its contract symbol, the words by its display name; another account's holding is not this one's
  const coin = o('c', 'Live', [leg('BTC/USD', 'sell', 0.5, { streamer_symbol: 'BTC/USD:CXTALP', display: 'BTC/USD', instrument_type: 'Cryptocurrency' })]);
  const btc = position('BTCUSD', 0.25, { streamer_symbol: 'BTC/USD:CXTALP', instrument_type: 'Cryptocurrency' });
  assert.deepEqual([...oversizedExits([coin], accounts(btc)).values()], ['Exits for 0.5 BTC/USD, but 0.25 are held.']);
  assert.equal(oversizedExits([{ ...tp, _account: 'B2' }], accounts(position('MSFT', 10))).size, 1);
  assert.equal(oversizedExits([o('bc', 'Live', [leg('QQQ', 'Buy to Close', 3)])], accounts(position('QQQ', 3, { direction: 'Short' }))).size, 0);
  assert.equal(oversizedExits([o('bc', 'Live', [leg('QQQ', 'Buy to Close', 3)])], accounts(position('QQQ', 3))).size, 1, 'a buy closes a short, not a long');
});
