// The P&L page's data (static/js/risk/pnl-model.js): samples merged without doubles after
// a restart, nulls left out of the curve, the stats as markers at their times, the words.
import test from 'node:test';
import assert from 'node:assert/strict';

import { chartPoints, mergeAnswer, mergePoints, money, statMarkers, statsText, timeText } from '../../static/js/risk/pnl-model.js';

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

test('the curve: seconds and day P&L, a null is no point (never 0)', () => {
  assert.deepEqual(chartPoints([p(60500, 1.5), p(120000, null), p(180000, -2)]), [
    { time: 60, value: 1.5 },
    { time: 180, value: -2 },
  ]);
});

test('markers: high above, low below, the drawdown peak and trough, in time order', () => {
  const marks = statMarkers({
    high: { value: 12, t: 300000 },
    low: { value: -3, t: 60000 },
    max_drawdown: { value: 6, peak_t: 120000, trough_t: 180000 },
  });
  assert.deepEqual(marks.map((m) => [m.time, m.position, m.text]), [
    [60, 'belowBar', 'Low -3.00'],
    [120, 'aboveBar', 'DD peak'],
    [180, 'belowBar', 'DD -6.00'],
    [300, 'aboveBar', 'High +12.00'],
  ]);
  // no fall: no drawdown markers; no values: no markers at all
  assert.equal(statMarkers({ high: { value: 1, t: 0 }, low: { value: 1, t: 0 }, max_drawdown: { value: 0, peak_t: 0, trough_t: 0 } }).length, 2);
  assert.deepEqual(statMarkers({ high: null, low: null, max_drawdown: null }), []);
});

test('the words: signed P&L, unsigned net liq, UTC times, "—" for nothing', () => {
  assert.equal(money(1234.5), '+1,234.50');
  assert.equal(money(-0.5), '-0.50');
  assert.equal(money(0), '0.00');
  assert.equal(money(null), '—');
  assert.equal(money(-10, false), '-10.00');
  assert.equal(timeText(Date.UTC(2026, 10, 26, 14, 30, 5)), '14:30:05 UTC');
  const text = statsText({
    points: [p(Date.UTC(2026, 10, 26, 14, 30), 5, 23000)],
    high: { value: 5, t: Date.UTC(2026, 10, 26, 14, 30) },
    low: null,
    max_drawdown: null,
  });
  assert.deepEqual(text, {
    net_liq: '23,000.00', day_pnl: '+5.00', high: '+5.00 at 14:30:00 UTC', low: '—', drawdown: '—', points: '1',
  });
});
