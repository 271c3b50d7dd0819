// The what-if graph's pure parts (static/js/risk/graph.js): the grid of prices, slider → query string, series and
// markers from the API's answers, the live re-fetch throttle. Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import {
  GRID_POINTS, PORTFOLIO, bandShading, createThrottle, curveData, dateAfter, drivingSymbol, graphMarkers, gridSpan,
  ivShiftText, nearestPoint, needsRecenter, nextChoices, priceGrid, riskUrl, sliderDate, sliderDateText,
} from '../../../static/js/risk/graph.js';

test('the grid: evenly spaced cents, ascending, distinct, centred on the price', () => {
  const grid = priceGrid(600, 90);
  assert.equal(grid.length, GRID_POINTS);
  assert.equal(grid[0], 510);
  assert.equal(grid[grid.length - 1], 690);
  assert.equal(grid[(GRID_POINTS - 1) / 2], 600);
  for (let i = 1; i < grid.length; i++) assert.ok(grid[i] > grid[i - 1]);
  assert.equal(grid[1], 511.5);
});

test('the grid never goes below a cent, and folds prices that round alike', () => {
  const low = priceGrid(1, 5, 11);
  assert.equal(low[0], 0.01);
  assert.ok(low.every((p) => p > 0));
  const tiny = priceGrid(0.02, 0.01, 50); // 0.01 … 0.03: only three distinct cents
  assert.deepEqual(tiny, [0.01, 0.02, 0.03]);
  assert.deepEqual(priceGrid(null, 10), []);
  assert.deepEqual(priceGrid(100, 0), []);
});

test('the span: ±15 % at least, ±2σ × 1.25 when wider', () => {
  assert.equal(gridSpan(100, null), 15);
  assert.equal(gridSpan(100, { 1: [95, 105], 2: [90, 110] }), 15);
  assert.equal(gridSpan(100, { 1: [80, 120], 2: [60, 140] }), 50);
  assert.equal(gridSpan(100, { 2: [70, 130.5] }), 38.125);
});

test('recentre once the price leaves the middle 60 %', () => {
  const grid = priceGrid(100, 50, 101); // 50 … 150: the middle 60 % is 70 … 130
  assert.equal(needsRecenter(grid, 100), false);
  assert.equal(needsRecenter(grid, 129), false);
  assert.equal(needsRecenter(grid, 131), true);
  assert.equal(needsRecenter(grid, 69), true);
  assert.equal(needsRecenter([], 100), true);
});

test('the date slider: today, a date, expiration', () => {
  assert.equal(dateAfter('2026-11-26', 5), '2026-12-01');
  assert.equal(sliderDate('2026-11-26', 0, 22), null);
  assert.equal(sliderDate('2026-11-26', 8, 22), '2026-12-04');
  assert.equal(sliderDate('2026-11-26', 22, 22), 'expiration');
  assert.equal(sliderDateText('2026-11-26', 0, 22), 'today');
  assert.equal(sliderDateText('2026-11-26', 8, 22), '2026-12-04 (+8 d)');
  assert.equal(sliderDateText('2026-11-26', 22, 22), 'expiration 2026-12-18');
  assert.equal(ivShiftText(5), '+5 vol pts');
  assert.equal(ivShiftText(-12), '−12 vol pts');
  assert.equal(ivShiftText(0), '+0 vol pts');
});

test('slider → query string', () => {
  assert.equal(riskUrl('/api/risk/', 'SPY'), '/api/risk/SPY');
  assert.equal(
    riskUrl('/api/risk/', 'SPY', { date: '2026-12-04', ivShift: -7, prices: [590, 600.456, 610.1] }),
    '/api/risk/SPY?date=2026-12-04&iv_shift=-7&prices=590,600.46,610.1',
  );
  assert.equal(riskUrl('/api/risk/', PORTFOLIO, { date: 'expiration', ivShift: 0, prices: [1] }), '/api/risk/portfolio?date=expiration&prices=1');
  assert.equal(riskUrl('/api/risk/', 'BRK/B'), '/api/risk/BRK%2FB');
  assert.equal(drivingSymbol(PORTFOLIO), 'SPY');
  assert.equal(drivingSymbol('QQQ'), 'QQQ');
});

test('series from an answer: ascending, one per price, no made-up values', () => {
  const answer = { points: [{ price: 610, pnl: 50 }, { price: 590, pnl: -120.5 }, { price: 600, pnl: null }, { price: 610, pnl: 55 }, { price: 'x', pnl: 1 }] };
  assert.deepEqual(curveData(answer), [{ time: 590, value: -120.5 }, { time: 610, value: 55 }]);
  assert.deepEqual(curveData(null), []);
  assert.deepEqual(curveData({ points: 'no' }), []);
});

test('bands shade the grid: ±1σ darker, ±2σ lighter, gaps outside', () => {
  const grid = [80, 90, 100, 110, 120, 130];
  const shading = bandShading(grid, { 1: [95, 105], 2: [85, 118] });
  assert.deepEqual(shading.map((p) => (p.value === undefined ? '.' : p.color.endsWith('0.16)') ? '1' : '2')).join(''), '.212..');
  assert.deepEqual(bandShading(grid, null).filter((p) => p.value !== undefined), []);
});

test('markers: the current price and the break-evens on the nearest grid point', () => {
  const grid = [90, 95, 100, 105, 110];
  assert.equal(nearestPoint(grid, 101.9), 100);
  assert.equal(nearestPoint(grid, 103.1), 105);
  assert.equal(nearestPoint(grid, 120), null);
  const m = graphMarkers(grid, 101.9, [93.2, 200]);
  assert.deepEqual(m.map((x) => [x.time, x.text]), [[95, 'BE 93.20'], [100, 'now 101.90']]);
  assert.deepEqual(graphMarkers(grid, null, []), []);
});

test('the select after a fill: the reloaded page\'s choices, the current choice kept while offered', () => {
  const opt = (...values) => values.map((value) => ({ value, label: value === PORTFOLIO ? 'Portfolio (β-weighted to SPY)' : value }));
  const before = opt('AAPL', 'SPY', PORTFOLIO);
  // KO bought: one more option, in the server's order; the graph stays on SPY
  const added = nextChoices(before, opt('AAPL', 'KO', 'SPY', PORTFOLIO), 'SPY', 'SPY');
  assert.deepEqual(added.choices.map((c) => c.value), ['AAPL', 'KO', 'SPY', PORTFOLIO]);
  assert.equal(added.choice, 'SPY');
  assert.equal(added.changed, true);
  // nothing new (a quantity changed): the options stay as they are
  assert.deepEqual(nextChoices(before, opt('AAPL', 'SPY', PORTFOLIO), 'AAPL', 'AAPL'), { choices: opt('AAPL', 'SPY', PORTFOLIO), choice: 'AAPL', changed: false });
  // AAPL closed while shown: the server's default for the page (its `selected`)
  const gone = nextChoices(before, opt('SPY', PORTFOLIO), 'AAPL', 'SPY');
  assert.equal(gone.choice, 'SPY');
  assert.equal(nextChoices(before, opt(PORTFOLIO), 'AAPL', 'nonsense').choice, PORTFOLIO);
});

/** A clock and timers that advance only when told. */
function fakeTime() {
  let now = 0;
  let timers = [];
  return {
    now: () => now,
    setTimeout: (fn, ms) => { const t = { at: now + ms, fn }; timers.push(t); return t; },
    clearTimeout: (t) => { timers = timers.filter((x) => x !== t); },
    async advance(ms) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
      await flush();
    },
    pending: () => timers.length,
  };
}
const flush = () => new Promise((r) => setImmediate(r));

test('the throttle: at once, then at most one per gap; requests meanwhile fold into one', async () => {
  const time = fakeTime();
  let runs = 0;
  const th = createThrottle(async () => { runs += 1; }, 1000, time);
  th.request();
  await flush();
  assert.equal(runs, 1);
  th.request();
  th.request();
  th.request();
  await flush();
  assert.equal(runs, 1); // within the gap
  await time.advance(999);
  assert.equal(runs, 1);
  await time.advance(1);
  assert.equal(runs, 2); // the three folded into one
  await time.advance(5000);
  assert.equal(runs, 2); // nothing asked since
});

test('the throttle: never two in flight; a request during a slow fetch runs after it', async () => {
  const time = fakeTime();
  const finishers = [];
  let started = 0;
  const th = createThrottle(() => new Promise((resolve) => { started += 1; finishers.push(resolve); }), 1000, time);
  th.request();
  await flush();
  assert.equal(started, 1);
  await time.advance(3000);
  th.request();
  await time.advance(3000);
  assert.equal(started, 1); // the first is still in flight
  assert.equal(th.info().inFlight, true);
  finishers[0]();
  await flush();
  await flush();
  assert.equal(started, 2); // ran as soon as the first finished (the gap had passed)
  finishers[1]();
  await flush();
  assert.equal(th.info().inFlight, false);
});

test('the throttle: a failed fetch frees it; cancel drops a waiting request', async () => {
  const time = fakeTime();
  let runs = 0;
  const th = createThrottle(async () => { runs += 1; throw new Error('HTTP 500'); }, 1000, time);
  th.request();
  await flush();
  th.request();
  th.cancel();
  await time.advance(2000);
  assert.equal(runs, 1);
  assert.equal(time.pending(), 0);
  th.request();
  await flush();
  assert.equal(runs, 2);
});
