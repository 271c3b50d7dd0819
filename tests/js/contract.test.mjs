// The browser's wire rules (static/js/stream/contract.js) against docs/streaming-contract.md.
// Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import {
  accountFrameVerdict, accountFreshness, backoffDelay, closePolicy, dataState, epochOf, eventsUrl,
  formatPosition, kindsOf, newestLiveQuoteT, nextRetry, normalizeSymbol, num, optionParts, orderCopy,
  orderKey, parseFrame, parsePosition, quoteAge, quoteStale, socketBase, feedRule, staleReason, watchlistOf, watchlistReplaces, withSince,
} from '../../static/js/stream/contract.js';

test('a frame is a JSON object with a string type', () => {
  assert.deepEqual(parseFrame('{"type":"quotes","quotes":{}}'), { type: 'quotes', quotes: {} });
  for (const bad of ['nope', '[]', '"quotes"', '{"type":3}', '{}', 'null']) assert.equal(parseFrame(bad), null, bad);
});

test('positions are <epoch>:<seq>', () => {
  assert.deepEqual(parsePosition('Ab3:19'), { epoch: 'Ab3', seq: 19 });
  assert.equal(formatPosition('Ab3', 19), 'Ab3:19');
  assert.equal(formatPosition('E1', 0), 'E1:0');
  for (const bad of ['19', ':19', 'E1:', 'E1:-1', 'E1:1.5', 'E-1:2', `${'x'.repeat(33)}:1`, null, 7]) {
    assert.equal(parsePosition(bad), null, String(bad));
  }
  assert.equal(formatPosition(null, 3), null, 'no epoch: nothing to resume from');
  assert.equal(formatPosition('E1', null), null);
  assert.equal(epochOf('a'.repeat(32)), 'a'.repeat(32));
  assert.equal(epochOf('a b'), null);
});

test('account frames apply in seq order within the epoch', () => {
  const pos = { epoch: 'E1', seq: 5 };
  assert.equal(accountFrameVerdict(pos, { epoch: 'E1', seq: 6 }), 'apply');
  assert.equal(accountFrameVerdict(pos, { epoch: 'E1', seq: 5 }), 'duplicate');
  assert.equal(accountFrameVerdict(pos, { epoch: 'E1', seq: 2 }), 'duplicate');
  assert.equal(accountFrameVerdict(pos, { epoch: 'E1', seq: 8 }), 'gap');
  // another epoch: never compared by seq, even a "next" one
  assert.equal(accountFrameVerdict(pos, { epoch: 'E2', seq: 6 }), 'epoch');
  assert.equal(accountFrameVerdict(pos, { epoch: 'E2', seq: 1 }), 'epoch');
  assert.equal(accountFrameVerdict(pos, { epoch: 'E1' }), 'invalid');
  assert.equal(accountFrameVerdict(pos, { seq: 6 }), 'apply', 'a frame without epoch is ours');
});

test('close codes', () => {
  assert.deepEqual(closePolicy(4401), { login: true, resume: false, immediate: false });
  for (const code of [4408, 1012]) assert.deepEqual(closePolicy(code), { login: false, resume: true, immediate: true });
  assert.deepEqual(closePolicy(4409), { login: false, resume: false, immediate: true });
  for (const code of [4503, 1013, 1001, 1011, 1006, 1000]) {
    assert.deepEqual(closePolicy(code), { login: false, resume: true, immediate: false }, String(code));
  }
});

test('backoff: 0.5 s doubling to 30 s, ±30 %', () => {
  assert.equal(backoffDelay(0, () => 0.5), 500);
  assert.equal(backoffDelay(1, () => 0.5), 1000);
  assert.equal(backoffDelay(20, () => 0.5), 30000);
  assert.equal(backoffDelay(0, () => 0), 350);
  assert.equal(backoffDelay(0, () => 0.9999999), 650);
  for (let i = 0; i < 100; i++) assert.ok(backoffDelay(0) >= 350, 'never at once');
});

test('a reconnect at once, at most once per 5 s; else backoff', () => {
  const r = () => 0.5;
  const T = 1_760_000_000_000;
  assert.deepEqual(nextRetry({ attempt: 2, lastImmediate: -Infinity }, true, T, r), { delay: 0, attempt: 2, lastImmediate: T });
  assert.deepEqual(nextRetry({ attempt: 2, lastImmediate: T - 4_000 }, true, T, r), { delay: 2000, attempt: 3, lastImmediate: T - 4_000 });
  assert.deepEqual(nextRetry({ attempt: 2, lastImmediate: T - 5_001 }, true, T, r), { delay: 0, attempt: 2, lastImmediate: T });
  assert.deepEqual(nextRetry({ attempt: 0, lastImmediate: -Infinity }, false, T, r), { delay: 500, attempt: 1, lastImmediate: -Infinity });
});

test('URLs: ws(s) as the page, ?since= the position, SSE ?symbols=', () => {
  assert.equal(socketBase('/ws/stream/', { protocol: 'https:', host: 'desk:8443' }), 'wss://desk:8443/ws/stream/');
  assert.equal(socketBase('ws/stream/', { protocol: 'http:', host: 'desk' }), 'ws://desk/ws/stream/');
  assert.equal(socketBase('ws://other/x', { protocol: 'https:', host: 'desk' }), 'ws://other/x');
  assert.equal(withSince('ws://d/ws/', 'E1:5'), 'ws://d/ws/?since=E1%3A5');
  assert.equal(withSince('ws://d/ws/?a=1', 'E1:5'), 'ws://d/ws/?a=1&since=E1%3A5');
  assert.equal(withSince('ws://d/ws/', null), 'ws://d/ws/');
  assert.equal(eventsUrl('/api/events', null, null), '/api/events');
  assert.equal(eventsUrl('/api/events', ['SPY', '.SPY260918C590'], 'E1:5'), '/api/events?symbols=SPY%2C.SPY260918C590&since=E1%3A5');
});

test('an order frame replaces the order: fills are not merged', () => {
  assert.equal(orderKey('77', 1), '1:77');
  assert.equal(orderKey('77', null), '77');
  const sent = { id: '77', status: 'Filled', legs: [{ symbol: 'SPY', fills: [{ id: '77:2', quantity: 2 }] }] };
  const copy = orderCopy(sent);
  assert.deepEqual(copy, sent);
  copy.legs[0].fills.push({ id: 'x' });
  assert.equal(sent.legs[0].fills.length, 1, 'a copy, not shared');
  assert.deepEqual(orderCopy({ id: 1 }).legs, []);
  assert.deepEqual(orderCopy({ id: 1, legs: [{ symbol: 'A' }] }).legs[0].fills, []);
});

test('the watchlist: newer versions replace', () => {
  const cur = watchlistOf({ symbols: ['SPY'], version: 3 });
  assert.deepEqual(cur, { symbols: ['SPY'], version: 3 });
  assert.equal(watchlistReplaces(cur, watchlistOf({ symbols: [], version: 4 })), true);
  assert.equal(watchlistReplaces(cur, watchlistOf({ symbols: [], version: 3 })), false);
  assert.equal(watchlistReplaces(cur, watchlistOf({ symbols: [], version: 3 }), true), true, 'a snapshot at the same version');
  assert.equal(watchlistReplaces(cur, watchlistOf({ symbols: [], version: 2 }), true), false);
  assert.equal(watchlistReplaces(cur, watchlistOf(['A'])), true, 'a bare list has no version');
  assert.equal(watchlistOf({ symbols: 'SPY' }), null);
  assert.deepEqual(watchlistOf({ symbols: ['A', 3], version: '5' }), { symbols: ['A'], version: 5 });
});

test('symbols as the contract spells them', () => {
  assert.equal(normalizeSymbol(' amd '), 'AMD');
  assert.equal(normalizeSymbol('brk/b'), 'BRK/B');
  assert.equal(normalizeSymbol('/esz26'), '/ESZ26:XCME', 'a future by its contract (feed) symbol');
  assert.equal(normalizeSymbol('BTC/USD'), 'BTC/USD:CXTALP', 'a coin by its feed symbol');
  assert.equal(normalizeSymbol('SPY   250221C00590000'), '.SPY250221C590');
  assert.equal(normalizeSymbol('DROP TABLE'), null);
  assert.equal(normalizeSymbol('SPY١'), null, 'ASCII digits only');
  assert.equal(normalizeSymbol(''), null);
  assert.equal(normalizeSymbol('.SPY250221C590.5'), '.SPY250221C590.5');
  assert.equal(normalizeSymbol('.SPY25022C590'), null, 'five date digits');
});

test('a streamer option symbol in parts (one copy of the rule)', () => {
  assert.deepEqual(optionParts('.SPY260320P570'), { root: 'SPY', yy: '26', mm: 3, dd: '20', right: 'P', strike: '570' });
  assert.equal(optionParts('.BRKB261218C412.5').strike, '412.5');
  assert.equal(optionParts('SPY'), null);
  assert.equal(optionParts('.SPY26032P570'), null);
  assert.equal(optionParts(null), null);
});

const NOW = 1_760_000_000_000; // ms (times below 1e11 read as seconds)

test('quote staleness and data age', () => {
  const now = NOW;
  assert.equal(quoteAge({ t: now - 2500 }, now), 2500);
  assert.equal(quoteAge({ t: now + 50 }, now), 0);
  assert.equal(quoteAge({}, now), null);
  assert.equal(quoteStale({ t: now - 10_000 }, now, 10_000), false);
  assert.equal(quoteStale({ t: now - 10_001 }, now, 10_000), true);
  assert.equal(quoteStale(undefined, now, 10_000), true, 'no quote is not fresh');
  // with feeds (contract "Staleness"): the feed decides, not the age
  const links = [
    { id: 1, broker: 'tastytrade', label: 'tt', quote_source: false, quote_feed: null, kinds: { quotes: { state: 'idle' } } },
    { id: 2, broker: 'tradier', label: 'tr', quote_source: true, quote_feed: '2:4', kinds: { quotes: { state: 'live' } } },
  ];
  const rule = feedRule(links, 10_000);
  assert.deepEqual(rule, { staleMs: 10_000, src: '2:4', live: true, link: '2', label: 'tr', broker: 'tradier', coins: null });
  assert.equal(quoteStale({ t: now - 86_400_000, src: '2:4' }, now, rule), false, 'quiet overnight: live');
  assert.equal(quoteStale({ t: now, src: '1:3' }, now, rule), true, 'streamed by the feed before the failover');
  assert.equal(staleReason({ t: now, src: '1:3' }, now, rule), 'from an earlier feed');
  const silent = feedRule([{ ...links[1], kinds: { quotes: { state: 'stale' } } }], 10_000);
  assert.equal(staleReason({ t: now, src: '2:4' }, now, silent), 'market data not live', 'a silent feed greys everything at once');
  assert.equal(quoteStale({ t: now - 11_000 }, now, rule), true, 'no src (an older server): the age rule');
  assert.equal(feedRule([{ id: 3, quote_source: true, kinds: { quotes: { state: 'live' } } }], 10_000).src, undefined, 'a server before feeds');
  // the coin feed (contract "Coins"): an Alpaca link feeds the coins a Tradier source cannot quote
  const coinLink = { id: 5, broker: 'alpaca', label: 'ap', quote_source: false, coin_feed: true, quote_feed: '5:6', kinds: { quotes: { state: 'live' } } };
  const withCoins = feedRule([...links, coinLink], 10_000);
  assert.deepEqual(withCoins.coins, { src: '5:6', live: true, link: '5', label: 'ap' });
  assert.equal(withCoins.src, '2:4', 'the source is still the source');
  assert.equal(staleReason({ t: now - 3_600_000, src: '5:6' }, now, withCoins), '', 'a quiet coin on a live coin feed: live');
  assert.equal(staleReason({ t: now, src: '2:4' }, now, withCoins), '', "the source's values: live");
  assert.equal(staleReason({ t: now, src: '5:2' }, now, withCoins), 'from an earlier feed', 'the coin feed before it reconnected');
  const coinsDown = feedRule([...links, { ...coinLink, kinds: { quotes: { state: 'reconnecting' } } }], 10_000);
  assert.equal(staleReason({ t: now, src: '5:6' }, now, coinsDown), 'market data not live', 'the coin feed down greys the coins');
  assert.equal(staleReason({ t: now, src: '2:4' }, now, coinsDown), '', 'and only the coins');
  const coinsAlone = feedRule([coinLink], 10_000);
  assert.equal(coinsAlone.src, undefined, 'no quote source: an Alpaca link alone');
  assert.equal(staleReason({ t: now, src: '5:6' }, now, coinsAlone), '', 'its coins are live');
  assert.equal(staleReason({ t: now, src: '1:3' }, now, coinsAlone), 'from an earlier feed');
  assert.equal(newestLiveQuoteT([{ t: now + 5 }, { t: now + 9, delayed: true }, { t: now + 7, delayed: false }, null]), now + 7);
  assert.equal(newestLiveQuoteT([{ t: now, delayed: true }]), null);
  assert.equal(num(null), null);
  assert.equal(num('1.5'), 1.5);
});

const K = (state, last_ok = NOW) => ({ state, reason: '', since: NOW, last_ok });
const L = (quotes, account, extra = {}) => ({ id: 1, label: 'tt', state: 'live', kinds: { quotes: K(quotes), account: K(account, NOW - 777) }, ...extra });

test('per-kind link states', () => {
  assert.equal(kindsOf(L('idle', 'stale')).quotes.state, 'idle');
  assert.equal(kindsOf({ state: 'reconnecting' }).account.state, 'reconnecting', 'an older status without kinds');
  assert.deepEqual(accountFreshness(L('live', 'stale')), { live: false, state: 'stale', asOf: NOW - 777, reason: '' });
  assert.equal(accountFreshness(L('stale', 'live')).live, true, 'quote trouble does not age balances');
});

test('how long a kind may be silent before it is stale, as the server judges it now', () => {
  const link = L('live', 'live');
  link.kinds.quotes.stale_after_ms = 2000;
  link.kinds.account.stale_after_ms = '12500';
  assert.equal(kindsOf(link).quotes.stale_after_ms, 2000);
  assert.equal(kindsOf(link).account.stale_after_ms, 12500);
  link.kinds.quotes.stale_after_ms = null; // idle, or nothing promised
  link.kinds.account.stale_after_ms = -1; // nonsense
  assert.equal(kindsOf(link).quotes.stale_after_ms, null);
  assert.equal(kindsOf(link).account.stale_after_ms, null);
  assert.equal(kindsOf(L('live', 'live')).quotes.stale_after_ms, null, 'a server before the field');
  assert.equal(kindsOf({ state: 'live' }).quotes.stale_after_ms, null, 'an older status without kinds');
});

test('the data pill', () => {
  const base = { now: NOW, staleMs: 10_000, silentMs: 0, silentAfterMs: 10_000 };
  assert.equal(dataState({ ...base, links: [L('live', 'live')], newestQuoteT: NOW - 5_000 }).state, 'fresh');
  assert.equal(dataState({ ...base, links: [L('live', 'live')], newestQuoteT: NOW - 20_000 }).state, 'stale');
  assert.equal(dataState({ ...base, links: [L('live', 'stale')], newestQuoteT: NOW - 5_000 }).state, 'stale');
  assert.equal(dataState({ ...base, links: [L('idle', 'live')], newestQuoteT: null }).state, 'fresh', 'idle kinds do not count');
  const fed = L('live', 'live', { quote_source: true, quote_feed: '1:1' });
  assert.equal(dataState({ ...base, links: [fed], newestQuoteT: NOW - 60_000 }).state, 'fresh', 'with feeds, an old newest quote is a quiet market');
  assert.deepEqual(dataState({ ...base, links: [fed], newestQuoteT: NOW, staleInView: 3 }), { state: 'stale', why: ['3 values in view not live'] }, 'the rows and the pill agree');
  assert.equal(dataState({ ...base, links: [L('live', 'live', { delayed: true, quote_source: true })], newestQuoteT: null }).state, 'delayed');
  assert.equal(dataState({ ...base, links: [L('idle', 'live', { delayed: true })], newestQuoteT: NOW - 1_000 }).state, 'fresh', 'a delayed link that feeds nothing');
  assert.equal(dataState({ ...base, links: [], newestQuoteT: NOW - 1_000, anyDelayedQuote: true }).state, 'delayed');
  assert.equal(dataState({ ...base, links: [L('live', 'stale', { delayed: true, quote_source: true })], newestQuoteT: null }).state, 'stale', 'stale wins');
  assert.equal(dataState({ ...base, silentMs: 11_000, links: [L('live', 'live')], newestQuoteT: NOW - 1_000 }).state, 'stale', 'a silent page');
});
