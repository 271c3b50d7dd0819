// The chain page's expected move (static/js/stream/expected-move.js): price × IV × √(days/365)
// to the 16:00 New York close, the ATM IV as the mid of call and put, the strikes marked at
// the edges, and words (never a number) when a value is missing. The expected numbers are
// worked by hand in the comments.
// Run: node --test tests/js/expected-move.test.mjs
import test from 'node:test';
import assert from 'node:assert/strict';

import {
  atmIv, closeOf, daysUntil, edgeStrikes, expectedMove, expectedMoveView, nearestStrike,
} from '../../static/js/stream/expected-move.js';

const DAY = 86_400_000;
// 2026-12-18 is in winter time (EST, UTC−5): its 16:00 close is 21:00 UTC.
const CLOSE = Date.UTC(2026, 11, 18, 21);

test('the close is 16:00 New York, in winter and in summer time', () => {
  assert.equal(closeOf('2026-12-18'), CLOSE);
  assert.equal(closeOf('2026-07-17'), Date.UTC(2026, 6, 17, 20)); // EDT, UTC−4
  assert.equal(closeOf('2026-03-08'), Date.UTC(2026, 2, 8, 20)); // the day the clocks go on
  assert.equal(closeOf('2026-11-01'), Date.UTC(2026, 10, 1, 21)); // the day they go back
  assert.equal(closeOf('Dec 18'), null);
});

test('days are fractional calendar days to the close, negative after it', () => {
  assert.equal(daysUntil('2026-12-18', CLOSE - 45.25 * DAY), 45.25);
  assert.equal(daysUntil('2026-12-18', CLOSE + DAY / 2), -0.5);
});

test('the move is price × IV × √(days/365)', () => {
  // 45.25 / 365 = 0.1239726; √ = 0.3520975; × 100 × 0.25 = 8.80244
  assert.ok(Math.abs(expectedMove(100, 0.25, 45.25) - 8.80244) < 1e-5);
  // 365 days: exactly price × IV
  assert.ok(Math.abs(expectedMove(200, 0.3, 365) - 60) < 1e-9);
  assert.equal(expectedMove(100, 0.25, -1), 0);
});

test('the ATM IV is the mid of call and put at the strike nearest the price', () => {
  const rows = [
    { strike: 95, callIv: 0.3, putIv: 0.32 },
    { strike: 100, callIv: 0.24, putIv: 0.26 },
    { strike: 105, callIv: 0.2, putIv: null },
  ];
  assert.equal(nearestStrike([95, 100, 105], 102.5), 100); // a tie: the lower
  assert.ok(Math.abs(atmIv(rows, 101) - 0.25) < 1e-12); // (0.24 + 0.26) / 2
  assert.equal(atmIv(rows, 104), 0.2); // only the call's is known
  assert.equal(atmIv([{ strike: 100, callIv: null, putIv: 0 }, ...rows.slice(0, 1)], 100), null);
});

test('the strikes nearest the edges are marked; a tie goes outward', () => {
  assert.deepEqual(edgeStrikes([85, 90, 95, 100, 105, 110, 115], 91.2, 108.8), { low: 90, high: 110 });
  assert.deepEqual(edgeStrikes([90, 95, 100], 92.5, 97.5), { low: 90, high: 100 });
  // beyond the window: its last strikes
  assert.deepEqual(edgeStrikes([95, 100, 105], 50, 150), { low: 95, high: 105 });
});

const ROWS = [85, 90, 95, 100, 105, 110, 115].map((strike) => ({ strike, callIv: 0.24, putIv: 0.26 }));

test('the page line: the move, its percent of the price, the range and the edge strikes', () => {
  const v = expectedMoveView({ name: 'SPY', expiration: '2026-12-18', price: 100, rows: ROWS, now: CLOSE - 45.25 * DAY });
  // move 8.80244 (above), 8.8 % of 100; 100 − 8.80244 = 91.19756, 100 + 8.80244 = 108.80244
  assert.equal(v.text, 'Expected move ±8.80 (±8.8%) by 2026-12-18: 91.20 – 108.80');
  // 91.20 is 1.20 from 90 and 3.80 from 95; 108.80 is 1.20 from 110 and 3.80 from 105
  assert.deepEqual(v.edges, { low: 90, high: 110 });
});

test('a bigger price is written en-US, with its thousands grouped', () => {
  const rows = [{ strike: 1200, callIv: 0.2, putIv: 0.2 }];
  // 365 days: the move is price × IV = 1200 × 0.2 = 240 (20 %); 960 – 1,440
  const v = expectedMoveView({ name: 'X', expiration: '2026-12-18', price: 1200, rows, now: CLOSE - 365 * DAY });
  assert.equal(v.text, 'Expected move ±240.00 (±20.0%) by 2026-12-18: 960.00 – 1,440.00');
});

test('without a price, an ATM IV or time left: words, no number and no marked strike', () => {
  const now = CLOSE - DAY;
  const view = (over) => expectedMoveView({ name: 'SPY', expiration: '2026-12-18', price: 100, rows: ROWS, now, ...over });
  assert.deepEqual(view({ price: null }), { text: 'Expected move: no price for SPY yet.', move: null, low: null, high: null, edges: null });
  const noAtm = ROWS.map((r) => (r.strike === 100 ? { strike: 100, callIv: null, putIv: null } : r));
  assert.equal(view({ rows: noAtm }).text, 'Expected move: the IV at the money has not streamed yet.');
  assert.equal(view({ rows: noAtm }).edges, null);
  assert.equal(view({ now: CLOSE }).text, 'Expected move: this expiration\'s close has passed.');
  assert.equal(view({ rows: [] }).edges, null);
});

// ---------------------------------------------------------------- the chart's band (chartBand)
import { atmSymbols, bandExpiration, chartBand } from '../../static/js/stream/expected-move.js';

/** A chain answer as GET /api/chain/<SYM> gives it (only what the band reads). */
const chainAnswer = (over = {}) => ({
  underlying: 'SPY', expiration: '2026-12-18', expirations: ['2026-12-18', '2027-01-15'],
  underlying_price: 100,
  rows: [95, 100, 105].map((strike) => ({ strike, call: { iv: 0.24 }, put: { iv: strike === 100 ? 0.26 : 0.3 } })),
  ...over,
});

test('the band\'s expiration: the nearest at least one day out', () => {
  const dates = ['2026-12-17', '2026-12-18', '2027-01-15'];
  // 2026-12-17 16:00 EST is CLOSE − 1 day: at CLOSE − 1.5 days it is half a day away
  assert.equal(bandExpiration(dates, CLOSE - 1.5 * DAY), '2026-12-18');
  assert.equal(bandExpiration(dates, CLOSE - 3 * DAY), '2026-12-17'); // two days away
  assert.equal(bandExpiration(dates, CLOSE - DAY / 2), '2027-01-15'); // 12-18 is half a day away
  assert.equal(bandExpiration(['2026-12-18'], CLOSE - DAY / 2), null);
  assert.equal(bandExpiration(undefined, CLOSE), null);
});

test('the band: price × ATM IV × √(days/365) around the chain\'s price, labelled with its expiration', () => {
  const b = chartBand({ name: 'SPY', chain: chainAnswer(), now: CLOSE - 45.25 * DAY });
  // ATM 100: (0.24 + 0.26) / 2 = 0.25; 100 × 0.25 × √(45.25/365) = 8.80244
  assert.equal(b.expiration, '2026-12-18');
  assert.equal(b.price, 100);
  assert.ok(Math.abs(b.iv - 0.25) < 1e-12);
  assert.equal(b.days, 45.25);
  assert.ok(Math.abs(b.move - 8.80244) < 1e-5);
  assert.ok(Math.abs(b.low - 91.19756) < 1e-5 && Math.abs(b.high - 108.80244) < 1e-5);
  assert.equal(b.text, 'Expected move ±8.80 (±8.8%) by 2026-12-18: 91.20 – 108.80');
});

test('the band asks the next expiration when the chain answered one under a day away', () => {
  const chain = chainAnswer({ expiration: '2026-12-18' });
  const b = chartBand({ name: 'SPY', chain, now: CLOSE - DAY / 2 });
  assert.equal(b.move, null);
  assert.equal(b.ask, '2027-01-15'); // the chart asks this one, and draws nothing meanwhile
});

test('the at-the-money options the chart streams (so the chain carries their IV): the strike nearest the chain\'s price', () => {
  const chain = chainAnswer({ underlying_price: 103 });
  for (const r of chain.rows) Object.assign(r.call, { symbol: `.SPY261218C${r.strike}` }) && Object.assign(r.put, { symbol: `.SPY261218P${r.strike}` });
  assert.deepEqual(atmSymbols(chain), ['.SPY261218C105', '.SPY261218P105']);
  assert.deepEqual(atmSymbols(chainAnswer({ underlying_price: null })), []);
});

test('no band without a number: words, never a made-up value', () => {
  const now = CLOSE - 45.25 * DAY;
  const none = (chain) => chartBand({ name: 'SPY', chain, now });
  const noIv = chainAnswer({ rows: [{ strike: 100, call: { iv: null }, put: { iv: null } }] });
  assert.deepEqual(none(noIv), { text: 'No expected move: the IV at the money of 2026-12-18 is not known yet.', move: null, ask: null, missing: 'iv' });
  assert.deepEqual(none(chainAnswer({ underlying_price: null })), { text: 'No expected move: no price for SPY yet.', move: null, ask: null, missing: 'price' });
  const past = chartBand({ name: 'SPY', chain: chainAnswer({ expirations: ['2026-12-18'] }), now: CLOSE - DAY / 2 });
  assert.deepEqual(past, { text: 'No expected move: SPY lists no expiration a day or more away.', move: null, ask: null, missing: 'expiration' });
});
