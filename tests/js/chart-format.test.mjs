// The chart page's words (static/js/stream/chart-format.js): axis tick marks by their
// kind (a day's start reads as its date, not "19:00"), labelled New York times, daily
// candles by their date, what the candles cover (the note), and no "-0.00".
import test from 'node:test';
import assert from 'node:assert/strict';

import { TICK, candleLabel, hoursNote, quoteLabel, sessionHours, signed, tickLabel } from '../../static/js/stream/chart-format.js';
import { setTimeZone } from '../../static/js/stream/format.js';

test('intraday axis: a day mark is the New York date of that moment, any other mark its New York time', () => {
  const midnightUtc = Date.UTC(2026, 10, 25); // 19:00 New York on the 24th: what every label read before
  assert.equal(tickLabel(midnightUtc, TICK.DAY, '1h'), 'Nov 24');
  assert.equal(tickLabel(midnightUtc, TICK.MONTH, '1h'), 'Nov 24');
  assert.equal(tickLabel(midnightUtc, TICK.YEAR, '15m'), 'Nov 24');
  assert.equal(tickLabel(midnightUtc, TICK.TIME, '1h'), '19:00');
  assert.equal(tickLabel(Date.UTC(2026, 10, 25, 14, 30), TICK.TIME, '5m'), '09:30');
  assert.equal(tickLabel(Date.UTC(2026, 10, 25, 5), TICK.TIME, '1m'), '00:00'); // never "24:00"
});

test('daily axis: a candle at 00:00 UTC of its date is that date, a month or a year', () => {
  const day = Date.UTC(2026, 10, 25);
  assert.equal(tickLabel(day, TICK.DAY, '1d'), 'Nov 25'); // not Nov 24 (19:00 New York)
  assert.equal(tickLabel(Date.UTC(2026, 10, 2), TICK.MONTH, '1d'), 'Nov');
  assert.equal(tickLabel(Date.UTC(2026, 0, 2), TICK.YEAR, '1d'), '2026');
});

test('crosshair and status labels name the zone (New York\'s unless the trader chose another); a daily candle is its date', () => {
  assert.equal(candleLabel(Date.UTC(2026, 10, 25, 19, 5), '5m'), 'Wed Nov 25, 14:05 EST');
  assert.equal(candleLabel(Date.UTC(2026, 10, 25), '1d'), 'Wed, Nov 25, 2026');
  assert.equal(quoteLabel(Date.UTC(2026, 6, 1, 13, 30)), 'Jul 1, 09:30 EDT');
});

test('the trader\'s zone moves the axis, the crosshair and the note; the market\'s hours stay New York\'s', () => {
  setTimeZone('Europe/London');
  try {
    const at = Date.UTC(2026, 6, 1, 13, 30); // 09:30 in New York, 14:30 in London (summer)
    assert.equal(tickLabel(at, TICK.TIME, '5m'), '14:30');
    assert.equal(tickLabel(Date.UTC(2026, 10, 25), TICK.DAY, '1h'), 'Nov 25', 'London\'s midnight is its own date');
    assert.equal(candleLabel(at, '5m'), 'Wed Jul 1, 14:30 GMT+1');
    assert.equal(quoteLabel(at), 'Jul 1, 14:30 GMT+1');
    assert.match(hoursNote('regular', 'Tradier', { at }), /regular hours only \(09:30–16:00 ET\)\. Times in Europe\/London \(GMT\+1\)\./);
    // what the candles cover is the market's session, whatever the zone shown
    assert.equal(sessionHours([{ t: at }], '5m'), 'regular');
  } finally {
    setTimeZone('');
  }
});

test('what the candles cover is read from their times', () => {
  const at = (h, m) => ({ t: Date.UTC(2026, 10, 25, h + 5, m) }); // New York wall time in November
  assert.equal(sessionHours([at(9, 30), at(15, 59)], '1m'), 'regular');
  assert.equal(sessionHours([at(9, 0), at(15, 0)], '1h'), 'regular'); // the 09:00 hour holds 09:30
  assert.equal(sessionHours([at(8, 0), at(15, 0)], '1h'), 'extended');
  assert.equal(sessionHours([at(9, 30), at(16, 0)], '5m'), 'extended');
  assert.equal(sessionHours([at(9, 30), at(19, 55)], '5m'), 'extended');
  assert.equal(sessionHours([at(9, 30), at(22, 15)], '15m'), 'all-day');
  assert.equal(sessionHours([at(3, 0), at(9, 30)], '15m'), 'all-day');
  assert.equal(sessionHours([{ t: Date.UTC(2026, 10, 25) }], '1d'), 'daily');
  assert.equal(sessionHours([], '5m'), null);
  const nov = Date.UTC(2026, 10, 25, 19, 5);
  assert.match(hoursNote('regular', 'Tradier', { at: nov }), /^Candles from Tradier: regular hours only \(09:30–16:00 ET\)\. Times in America\/New_York \(EST\)\./);
  assert.match(hoursNote('all-day', 'tastytrade'), /round the clock/);
  assert.doesNotMatch(hoursNote('all-day', 'tastytrade'), /regular hours/);
  assert.match(hoursNote(null, null, { at: nov }), /^Candles from your quote source\. Times in America\/New_York \(EST\)/);
  // a coin or a future: its hours, not what the loaded intraday candles happen to cover
  const coin = hoursNote('regular', 'alpaca', { session: 'crypto trades around the clock, every day' });
  assert.match(coin, /^Candles from alpaca: crypto trades around the clock, every day\. Times in /);
  const option = hoursNote('all-day', 'tastytrade', { session: 'futures trade Sun-Fri 18:00-17:00 ET', price: 'mark' });
  assert.match(option, /^Candles from tastytrade of the mark \(the bid\/ask mid\): futures trade Sun-Fri 18:00-17:00 ET\./);
  assert.match(hoursNote('daily', 'tastytrade', { session: 'crypto trades around the clock, every day' }), /one candle per trading day/);
});

test('signed numbers never read -0.00', () => {
  assert.equal(signed(-0.004), '0.00');
  assert.equal(signed(-0), '0.00');
  assert.equal(signed(-0.0004, 3), '0.000');
  assert.equal(signed(0.005), '+0.01');
  assert.equal(signed(-1234.5), '-1,234.50');
  assert.equal(signed(-0.001, 2, '%'), '0.00%');
  assert.equal(signed(0.36, 2, '%'), '+0.36%');
  assert.equal(signed(null), '—');
});
