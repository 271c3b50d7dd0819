// The chart's candle module (static/js/stream/candles.js): buckets, history, the forming
// candle from quotes, boundaries (a new candle at the right time, never a stale one shown
// as live), sparkline paths. Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import {
  TIMEFRAMES, applyQuote, bucketStart, candleOf, chartBar, chartState, chartTimeAfter, closeDue, dayStart, fromHistory,
  nyOffset, quotePrice, sessionSpan, sparkPath, sparkPoints, sparkRange,
} from '../../static/js/stream/candles.js';

const T0 = Date.UTC(2026, 10, 24, 15, 0, 0); // Tue 24 Nov 2026 10:00 New York
const bar = (t, o, h, l, c, v = 100) => ({ t, open: o, high: h, low: l, close: c, volume: v });

test('the timeframes are the contract five, in order', () => {
  assert.deepEqual(Object.keys(TIMEFRAMES), ['1m', '5m', '15m', '1h', '1d']);
  assert.deepEqual(Object.values(TIMEFRAMES), [60000, 300000, 900000, 3600000, 86400000]);
});

test('intraday buckets align to the epoch; a day is its New York date at 00:00 UTC', () => {
  assert.equal(bucketStart(T0 + 299999, '5m'), T0);
  assert.equal(bucketStart(T0 + 300000, '5m'), T0 + 300000);
  assert.equal(bucketStart(T0 + 59999, '1m'), T0);
  assert.equal(bucketStart(T0 + 3599999, '1h'), T0);
  assert.equal(bucketStart(T0 + 14 * 60000, '15m'), T0);
  // 23:30 New York on the 24th is 04:30 UTC on the 25th: still the 24th's candle
  assert.equal(dayStart(Date.UTC(2026, 10, 25, 4, 30)), Date.UTC(2026, 10, 24));
  assert.equal(bucketStart(Date.UTC(2026, 10, 25, 5, 1), '1d'), Date.UTC(2026, 10, 25));
  // summer time: 00:30 EDT on 1 Jul is 04:30 UTC
  assert.equal(dayStart(Date.UTC(2026, 6, 1, 4, 30)), Date.UTC(2026, 6, 1));
  assert.equal(dayStart(Date.UTC(2026, 6, 1, 3, 59)), Date.UTC(2026, 5, 30));
});

test('a candle without prices is dropped, never drawn as 0; volume null stays null', () => {
  assert.equal(candleOf({ t: T0, open: 0, high: 1, low: 1, close: 1 }), null);
  assert.equal(candleOf({ t: T0, open: null, high: 1, low: 1, close: 1 }), null);
  assert.equal(candleOf({ t: 'x', open: 1, high: 1, low: 1, close: 1 }), null);
  assert.deepEqual(candleOf({ t: T0, open: 1, high: 2, low: 0.5, close: 1.5, volume: null }),
    { t: T0, open: 1, high: 2, low: 0.5, close: 1.5, volume: null });
});

test('history is sorted and de-duplicated; the last candle is forming only in the current bucket', () => {
  const s = fromHistory({ tf: '5m', candles: [bar(T0, 10, 11, 9, 10.5), bar(T0 - 300000, 9, 10, 8, 10), bar(T0, 10, 12, 9, 11)] }, T0 + 1000);
  assert.deepEqual(s.candles.map((c) => [c.t, c.close]), [[T0 - 300000, 10], [T0, 11]]);
  assert.equal(s.forming, true);
  assert.equal(fromHistory({ tf: '5m', candles: [bar(T0, 10, 11, 9, 10.5)] }, T0 + 300000).forming, false);
  assert.equal(fromHistory({ tf: 'bogus', candles: [] }, T0).tf, '5m');
});

test('quotes move the forming candle: close = last, high/low extended, volume grows by the day volume', () => {
  let s = fromHistory({ tf: '5m', candles: [bar(T0, 10, 11, 9, 10.5, 100)] }, T0 + 1000);
  let r = applyQuote(s, { last: 10.7, t: T0 + 2000, volume: 5000 });
  assert.equal(r.change, 'update');
  s = r.series;
  assert.deepEqual(s.candles[0], bar(T0, 10, 11, 9, 10.7, 100)); // the first quote only sets the day volume base
  r = applyQuote(s, { last: 11.5, t: T0 + 3000, volume: 5040 });
  assert.deepEqual(r.series.candles[0], bar(T0, 10, 11.5, 9, 11.5, 140));
  r = applyQuote(r.series, { last: 8.5, t: T0 + 4000 });
  assert.deepEqual(r.series.candles[0], bar(T0, 10, 11.5, 8.5, 8.5, 140));
  // the same values again: nothing to draw
  assert.equal(applyQuote(r.series, { last: 8.5, t: T0 + 4500 }).change, null);
  // no last, or a late quote: ignored
  assert.equal(applyQuote(r.series, { bid: 8, t: T0 + 5000 }).change, null);
  assert.equal(applyQuote(r.series, { last: 20, t: T0 + 3500 }).change, null);
});

test('at a boundary a new candle opens at the first quote of the new bucket, the old one stays closed', () => {
  let s = fromHistory({ tf: '1m', candles: [bar(T0, 10, 11, 9, 10.5)] }, T0 + 1000);
  s = applyQuote(s, { last: 10.6, t: T0 + 59999, volume: 1000 }).series;
  const r = applyQuote(s, { last: 10.9, t: T0 + 60000, volume: 1010 });
  assert.equal(r.change, 'new');
  assert.deepEqual(r.series.candles.map((c) => [c.t, c.open, c.high, c.low, c.close, c.volume]), [
    [T0, 10, 11, 9, 10.6, 100],
    [T0 + 60000, 10.9, 10.9, 10.9, 10.9, 10],
  ]);
  // a late tick of the closed minute never changes it
  const late = applyQuote(r.series, { last: 50, t: T0 + 59000 });
  assert.equal(late.change, null);
  assert.equal(late.series.candles[0].high, 11);
});

test('the clock closes the forming candle at its end: waiting, never live, until a quote of the new bucket', () => {
  let s = fromHistory({ tf: '1m', candles: [bar(T0, 10, 11, 9, 10.5)] }, T0 + 1000);
  s = applyQuote(s, { last: 10.6, t: T0 + 30000 }).series;
  assert.equal(chartState(s, T0 + 31000, 10000), 'live');
  assert.equal(chartState(s, T0 + 45000, 10000), 'stale'); // quote 15 s old
  assert.equal(chartState(s, T0 + 45000, 10000, true), 'live', 'a quiet symbol on a live feed');
  assert.equal(chartState(s, T0 + 31000, 10000, false), 'stale', 'from an earlier feed, or the feed is silent');
  assert.equal(closeDue(s, T0 + 59999), s);
  const closed = closeDue(s, T0 + 60000);
  assert.equal(closed.forming, false);
  assert.equal(chartState(closed, T0 + 60000, 10000), 'waiting');
  // even without closeDue, a candle of a past bucket is not live
  assert.equal(chartState(s, T0 + 61000, 10000), 'waiting');
  const next = applyQuote(closed, { last: 10.8, t: T0 + 61000 });
  assert.equal(next.change, 'new');
  assert.equal(chartState(next.series, T0 + 61500, 10000), 'live');
  assert.equal(chartState(fromHistory({ tf: '1m', candles: [] }, T0), T0, 10000), 'empty');
});

test('history ending before the current bucket: the first quote opens the current candle', () => {
  const s = fromHistory({ tf: '5m', candles: [bar(T0 - 600000, 10, 11, 9, 10.5)] }, T0 + 1000);
  assert.equal(chartState(s, T0 + 1000, 10000), 'waiting');
  const r = applyQuote(s, { last: 10.2, t: T0 + 1500 });
  assert.equal(r.change, 'new');
  assert.equal(r.series.candles[1].t, T0);
});

test('a daily chart puts quotes into the New York day', () => {
  const day = Date.UTC(2026, 10, 24);
  const s = fromHistory({ tf: '1d', candles: [bar(day, 10, 11, 9, 10.5)] }, Date.UTC(2026, 10, 24, 20));
  assert.equal(s.forming, true);
  const evening = applyQuote(s, { last: 12, t: Date.UTC(2026, 10, 25, 3, 0) }); // 22:00 New York
  assert.equal(evening.change, 'update');
  assert.equal(evening.series.candles.length, 1);
});

test('a trading day that began the evening before (dated tomorrow by the broker) is the live daily candle', () => {
  // the sandbox's (and a future's) day: from 19:00 New York the newest daily candle is
  // dated tomorrow; the quotes of that evening belong to it, and the chart is live
  const today = Date.UTC(2026, 10, 25);
  const tomorrow = Date.UTC(2026, 10, 26);
  const evening = Date.UTC(2026, 10, 26, 3, 27); // 22:27 New York on the 25th
  let s = fromHistory({ tf: '1d', candles: [bar(today, 10, 11, 9, 10.5), bar(tomorrow, 10.5, 10.6, 10.4, 10.5)] }, evening);
  assert.equal(s.forming, true);
  const r = applyQuote(s, { last: 10.9, t: evening + 1000 });
  assert.equal(r.change, 'update');
  s = r.series;
  assert.deepEqual(s.candles.map((c) => [c.t, c.close, c.high]), [[today, 10.5, 11], [tomorrow, 10.9, 10.9]]);
  assert.equal(chartState(s, evening + 2000, 10000), 'live');
  assert.equal(closeDue(s, evening + 2000), s);
  // past midnight New York the date is the broker's: the same candle goes on
  const night = Date.UTC(2026, 10, 26, 5, 30);
  const after = applyQuote(s, { last: 11.2, t: night });
  assert.equal(after.change, 'update');
  assert.equal(chartState(after.series, night + 500, 10000), 'live');
  // the next New York date opens a new candle
  const next = applyQuote(after.series, { last: 11.3, t: Date.UTC(2026, 10, 27, 5, 30) });
  assert.equal(next.change, 'new');
  assert.equal(next.series.candles[2].t, Date.UTC(2026, 10, 27));
  // a candle dated far ahead (a broker's error) takes no quotes: the day's own bucket opens
  const odd = fromHistory({ tf: '1d', candles: [bar(Date.UTC(2026, 11, 25), 1, 1, 1, 1)] }, evening);
  assert.equal(odd.forming, false);
  assert.equal(chartState(odd, evening, 10000), 'waiting');
  // intraday buckets are the epoch's, whatever the newest candle
  const m = fromHistory({ tf: '1m', candles: [bar(T0 + 120000, 1, 1, 1, 1)] }, T0);
  assert.equal(applyQuote(m, { last: 2, t: T0 + 1000 }).change, null);
});

test('a sparkline answer is its day and points; its x range is the session, widened to the points', () => {
  const day = Date.UTC(2026, 10, 24);
  const open = Date.UTC(2026, 10, 24, 14, 30); // 09:30 New York (EST)
  const q = 900000;
  const { day: d, points } = sparkPoints({ day, t0: open, step_ms: q, open: 9.5, closes: [10, null, 11.5, 0, 'x', 12] });
  assert.equal(d, day);
  // the open at t0, each close at its candle's end
  assert.deepEqual(points, [[open, 9.5], [open + q, 10], [open + 3 * q, 11.5], [open + 6 * q, 12]]);
  // the day's first candle still forming: its open alone (the live quote follows)
  assert.deepEqual(sparkPoints({ day, t0: open, step_ms: q, open: 9.5, closes: [] }).points, [[open, 9.5]]);
  assert.deepEqual(sparkPoints({ day: null, t0: null, step_ms: q, open: null, closes: [] }), { day: null, points: [] });
  assert.deepEqual(sparkPoints({ day, t0: open, step_ms: 0, closes: [1] }), { day: null, points: [] });
  assert.deepEqual(sparkPoints(null), { day: null, points: [] });
  assert.equal(nyOffset(Date.UTC(2026, 10, 24, 12)), -5 * 3600000);
  assert.equal(nyOffset(Date.UTC(2026, 6, 1, 12)), -4 * 3600000);
  assert.deepEqual(sessionSpan(day), [open, Date.UTC(2026, 10, 24, 21)]);
  assert.deepEqual(sessionSpan(Date.UTC(2026, 6, 1)), [Date.UTC(2026, 6, 1, 13, 30), Date.UTC(2026, 6, 1, 20)]);
  assert.deepEqual(sparkRange(day, points), [open, Date.UTC(2026, 10, 24, 21)]);
  assert.deepEqual(sparkRange(null, points), [undefined, undefined]);
  // a 24-hour day: points before the open and after the close widen it
  const early = Date.UTC(2026, 10, 24, 5);
  const late = Date.UTC(2026, 10, 25, 3);
  assert.deepEqual(sparkRange(day, [[early, 1], [late, 2]]), [early, late]);
});

test('chart times: New York wall time read as UTC (days begin at its midnight), a date as it is, always ascending', () => {
  // 10:00 New York (EST) on 24 Nov reads as 10:00 UTC; 00:00 UTC (19:00 New York) as 19:00
  assert.equal(chartTimeAfter(T0, '5m', null), Date.UTC(2026, 10, 24, 10) / 1000);
  assert.equal(chartTimeAfter(Date.UTC(2026, 10, 25), '1h', null), Date.UTC(2026, 10, 24, 19) / 1000);
  assert.equal(chartTimeAfter(Date.UTC(2026, 6, 1, 13, 30), '1m', null), Date.UTC(2026, 6, 1, 9, 30) / 1000); // EDT
  assert.equal(chartTimeAfter(Date.UTC(2026, 10, 25), '1d', null), Date.UTC(2026, 10, 25) / 1000);
  // summer time ends 1 Nov 2026: 01:00-02:00 New York comes twice; the bars stay in order
  const first = chartTimeAfter(Date.UTC(2026, 10, 1, 5, 30), '15m', null); // 01:30 EDT
  const again = chartTimeAfter(Date.UTC(2026, 10, 1, 6, 0), '15m', first); // 01:00 EST
  assert.equal(first, Date.UTC(2026, 10, 1, 1, 30) / 1000);
  assert.equal(again, first + 1);
  assert.equal(chartTimeAfter(Date.UTC(2026, 10, 1, 7, 0), '15m', again), Date.UTC(2026, 10, 1, 2) / 1000);
});

test('chart bars are in seconds; sparklines scale into the box', () => {
  assert.deepEqual(chartBar(bar(T0, 1, 2, 0.5, 1.5)), { time: T0 / 1000, open: 1, high: 2, low: 0.5, close: 1.5 });
  assert.equal(chartBar(bar(T0, 1, 2, 0.5, 1.5), 42).time, 42);
  const points = [[T0, 2], [T0 + 900000, 3]];
  assert.equal(sparkPath(points, 62, 22), 'M1.0 21.0 L61.0 1.0');
  assert.equal(sparkPath([[T0, 5], [T0 + 1, 5]], 62, 22), 'M1.0 11.0 L61.0 11.0');
  assert.equal(sparkPath([], 62, 22), '');
  // a session box: half the day gone, half the width
  assert.equal(sparkPath([[0, 1], [50, 2]], 102, 22, 0, 100), 'M1.0 21.0 L51.0 1.0');
});

test('chart links name the symbol safely: futures and options are encoded', async () => {
  const { chartUrl } = await import('../../static/js/stream/render/sparklines.js');
  assert.equal(chartUrl('SPY'), '/chart/SPY');
  assert.equal(chartUrl('/ESZ26', '1h'), '/chart/%2FESZ26?tf=1h');
  assert.equal(chartUrl('.SPY270115C590'), '/chart/.SPY270115C590');
});

test("an option's mark candles move with the quote's bid/ask mid; trade candles ignore it", () => {
  assert.equal(quotePrice({ last: 10.5, bid: 10, ask: 11 }), 10.5);
  assert.equal(quotePrice({ last: 10.5, bid: 10, ask: 11 }, 'mark'), 10.5);
  assert.equal(quotePrice({ bid: 43.2, ask: 44.5 }, 'mark'), 43.85);
  assert.equal(quotePrice({ bid: 43.2, ask: 44.5 }), null); // no trade: nothing for trade candles
  assert.equal(quotePrice({ bid: 0, ask: 1 }, 'mark'), null);
  assert.equal(quotePrice(null, 'mark'), null);
  const s = fromHistory({ tf: '5m', candles: [bar(T0, 40, 45, 39, 43)] }, T0 + 1000);
  assert.equal(applyQuote(s, { bid: 43.2, ask: 44.5, t: T0 + 2000 }).change, null);
  const r = applyQuote(s, { bid: 45.5, ask: 46.5, t: T0 + 2000 }, 'mark');
  assert.equal(r.change, 'update');
  assert.deepEqual(r.series.candles.at(-1), { ...bar(T0, 40, 46, 39, 46), volume: 100 });
});
