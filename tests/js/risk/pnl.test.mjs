// The P&L page's data (static/js/risk/pnl/model.js): samples merged without doubles after
// a restart, nulls left out of the curve, the stats as markers at their times, the words.
import test from 'node:test';
import assert from 'node:assert/strict';

import {
  chartEdges, chartPoints, clock, createFitPolicy, mergeAnswer, mergePoints, money, seriesLooks, sourceText, statMarkers, statsText, timeText, viewReport, zoneLabel,
} from '../../../static/js/risk/pnl/model.js';
import { setTimeZone } from '../../../static/js/stream/format.js';

const p = (t, dayPnl, netLiq = 1000) => ({ t, net_liq: netLiq, day_pnl: dayPnl });

test('a poll after a restart: the earlier points again plus new ones, none doubled, in time order', () => {
  const shown = [p(60000, 1), p(120000, 2)];
  const fresh = [p(60000, 1), p(120000, 2), p(240000, 4)];
  assert.deepEqual(mergePoints(shown, fresh).map((x) => x.t), [60000, 120000, 240000]);
  assert.deepEqual(mergePoints(null, [p(2, 0), p(1, 0)]).map((x) => x.t), [1, 2]);
});

test('an answer for another day replaces the one shown; the same day merges per account', () => {
  const shown = { day: '2026-11-26', series: [{ account: '', points: [p(1000, 1)] }] };
  const same = { day: '2026-11-26', series: [{ account: '', points: [p(2000, 2)] }, { account: 'A', points: [p(2000, 5)] }] };
  const merged = mergeAnswer(shown, same);
  assert.deepEqual(merged.series[0].points.map((x) => x.t), [1000, 2000]);
  assert.deepEqual(merged.series[1].points.map((x) => x.t), [2000]);
  const other = { day: '2026-11-25', series: [] };
  assert.equal(mergeAnswer(shown, other), other);
});

test('the curve: seconds and day P&L, a null is whitespace (no value, never 0)', () => {
  assert.deepEqual(chartPoints([p(60500, 1.5), p(120000, null), p(180000, -2)]), [
    { time: 60, value: 1.5 },
    { time: 120 },
    { time: 180, value: -2 },
  ]);
});

test('the curve keeps time: grid times without a sample (a restart) keep their place on the axis', () => {
  const pts = [p(60000, 1), p(120000, 2), p(360000, 3)];
  assert.deepEqual(chartPoints(pts, 60), [
    { time: 60, value: 1 }, { time: 120, value: 2 }, { time: 180 }, { time: 240 }, { time: 300 }, { time: 360, value: 3 },
  ]);
  // no interval: no filling; a day too long to fill at its grid: the points as they are
  assert.equal(chartPoints(pts).length, 3);
  assert.equal(chartPoints([p(0, 1), p(86400000, 2)], 1).length, 2);
});

test('markers: on the curve at their times, short words (the numbers are the table\'s), in time order', () => {
  const marks = statMarkers({
    high: { value: 12, t: 300000 },
    low: { value: -3, t: 60000 },
    max_drawdown: { value: 6, peak_t: 120000, trough_t: 180000 },
  });
  assert.deepEqual(marks.map((m) => [m.time, m.position, m.text]), [
    [60, 'belowBar', 'Low'],
    [120, 'aboveBar', 'DD peak'],
    [180, 'belowBar', 'DD trough'],
    [300, 'aboveBar', 'High'],
  ]);
  // no fall: no drawdown markers; no values: no markers at all
  assert.equal(statMarkers({ high: { value: 1, t: 0 }, low: { value: 1, t: 0 }, max_drawdown: { value: 0, peak_t: 0, trough_t: 0 } }).length, 2);
  assert.deepEqual(statMarkers({ high: null, low: null, max_drawdown: null }), []);
});

test('the series: the total is the main curve; accounts thin, no axis label or price line, shown when chosen', () => {
  const series = [{ account: '' }, { account: 'A1' }, { account: 'B2' }];
  const looks = seriesLooks(series);
  assert.deepEqual(looks.map((l) => [l.account, l.main, l.options.visible, l.options.lastValueVisible, l.options.priceLineVisible]), [
    ['', true, true, true, true],
    ['A1', false, false, false, false],
    ['B2', false, false, false, false],
  ]);
  assert.ok(looks[0].options.lineWidth > looks[1].options.lineWidth);
  assert.equal(new Set(looks.map((l) => l.options.color)).size, 3);
  assert.deepEqual(seriesLooks(series, new Set(['B2'])).map((l) => l.options.visible), [true, false, true]);
  // a lone account (an earlier day from one broker) is the main curve
  assert.deepEqual(seriesLooks([{ account: 'A1' }]).map((l) => [l.main, l.options.visible]), [[true, true]]);
});

test('the view: fitted on every draw until the trader zooms or scrolls; "fit" resumes', () => {
  const fit = createFitPolicy();
  assert.equal(fit.shouldFit(), true);
  assert.equal(fit.shouldFit(), true); // new samples: fitted again
  fit.interacted();
  assert.equal(fit.shouldFit(), false);
  fit.reset();
  assert.equal(fit.shouldFit(), true);
});

test('the view report: the range against the first and last point, and their share of the width', () => {
  assert.deepEqual(viewReport({ from: 60, to: 180 }, 60, 180, 10, 910, 1000), {
    from: 60, to: 180, first: 60, last: 180, span: 0.9, left: null, right: null, bar: null, width: 1000, box: null,
  });
  // squeezed into a sliver at the right edge: every point visible, but a tiny span
  assert.ok(viewReport({ from: 60, to: 180 }, 60, 180, 950, 990, 1000).span < 0.1);
  assert.equal(viewReport(null, null, null, null, null, 1000).span, 0);
});

test('the view report: the geometry a fitted view is judged by, and the size it was measured at', () => {
  // the first bar half a bar in, the last the right margin (36 px) and half a bar from the edge
  const view = viewReport({ from: 60, to: 180 }, 60, 180, 4, 955, 1000, { leftX: 4, rightX: 955, bar: 10, box: 1080 });
  assert.deepEqual([view.left, view.right, view.bar, view.width, view.box], [4, 45, 10, 1000, 1080]);
});

test('the chart\'s edges: every series\' first and last time, points without a value included', () => {
  const total = [{ time: 62 }, { time: 63, value: 1 }, { time: 64, value: 2 }];
  const account = [{ time: 61, value: 5 }, { time: 63, value: 6 }];
  assert.deepEqual(chartEdges([total, account, []]), { first: 61, last: 64 });
  assert.deepEqual(chartEdges([[], []]), { first: null, last: null });
});

test('the source line: the sampling interval once samples exist, else the reason', () => {
  assert.equal(sourceText({ source: 'samples', interval: 1, reason: '' }), 'Sampled from your live stream every 1 s.');
  assert.equal(sourceText({ source: 'samples', interval: 0.5, reason: '' }), 'Sampled from your live stream every 0.5 s.');
  assert.equal(sourceText({ source: 'none', interval: 60, reason: 'No samples yet today.' }), 'No samples yet today.');
});

test('the words: signed P&L, unsigned net liq, times in the trader\'s zone labelled, "—" for nothing', () => {
  setTimeZone('America/New_York');
  try {
    assert.equal(money(1234.5), '+1,234.50');
    assert.equal(money(-0.5), '-0.50');
    assert.equal(money(0), '0.00');
    assert.equal(money(null), '—');
    assert.equal(money(-10, false), '-10.00');
    const at = Date.UTC(2026, 10, 26, 14, 30, 5);
    assert.equal(timeText(at), '09:30:05 EST');
    assert.equal(clock(at), '09:30:05');
    assert.equal(zoneLabel(at), 'EST');
    assert.equal(timeText(Date.UTC(2026, 6, 1, 14, 30, 5)), '10:30:05 EDT');
    const text = statsText({
      points: [p(Date.UTC(2026, 10, 26, 14, 30), 5, 23000)],
      high: { value: 5, t: Date.UTC(2026, 10, 26, 14, 30) },
      low: null,
      max_drawdown: { value: 2.5, peak_t: Date.UTC(2026, 10, 26, 14, 0), trough_t: Date.UTC(2026, 10, 26, 14, 10) },
    });
    assert.deepEqual(text, {
      net_liq: '23,000.00', day_pnl: '+5.00', high: '+5.00', high_at: '09:30:00 EST', low: '—', low_at: '',
      drawdown: '2.50', drawdown_at: '09:00:00 → 09:10:00 EST', points: '1',
    });
    setTimeZone('Asia/Tokyo');
    assert.equal(timeText(at), '23:30:05 GMT+9');
  } finally {
    setTimeZone('');
  }
});
