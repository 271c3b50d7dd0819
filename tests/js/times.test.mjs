// Every time a trader reads (static/js/stream/times.js): one zone — New York's until the
// trader chooses another, never the browser's — named as Intl names it in en-US.
// Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import {
  MARKET_ZONE, clock, dayLabel, fromWallTime, hhmm, sameDay, setTimeZone, timeZone, toWallTime, zoneLabel, zoneOffset, zoned,
} from '../../static/js/stream/times.js';

const T = Date.UTC(2026, 2, 3, 19, 2, 11); // 14:02:11 in New York (EST), 19:02:11 in London (GMT)
const SUMMER = Date.UTC(2026, 6, 3, 18, 2, 11); // 14:02:11 EDT, 19:02:11 GMT+1

test('no zone chosen, or one Intl does not know: New York\'s (the market\'s clock)', () => {
  setTimeZone('');
  assert.equal(timeZone(), MARKET_ZONE);
  assert.equal(zoned(T, 'time'), '14:02:11 EST');
  setTimeZone('Mars/Olympus');
  assert.equal(timeZone(), MARKET_ZONE);
  setTimeZone(null);
  assert.equal(timeZone(), MARKET_ZONE);
});

test('whatever the browser\'s zone: a browser in Kolkata shows New York\'s time unless another is chosen', () => {
  const code = `import('${new URL('../../static/js/stream/times.js', import.meta.url)}').then((m) => {
    const before = m.zoned(${T}, 'time');
    m.setTimeZone('Europe/London');
    process.stdout.write(JSON.stringify([before, m.zoned(${T}, 'time')]));
  })`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', code], { env: { ...process.env, TZ: 'Asia/Kolkata' } }).toString());
  assert.deepEqual(out, ['14:02:11 EST', '19:02:11 GMT']);
});

test('every kind of text, named; summer time named as such', () => {
  setTimeZone('America/New_York');
  assert.equal(zoned(T, 'time'), '14:02:11 EST');
  assert.equal(zoned(T, 'hm'), '14:02 EST');
  assert.equal(zoned(T, 'day'), 'Mar 3, 14:02:11 EST');
  assert.equal(zoned(T, 'day-hm'), 'Mar 3, 14:02 EST');
  assert.equal(zoned(T, 'full'), 'Mar 3, 2026, 14:02:11 EST');
  assert.equal(zoned(T, 'full-hm'), 'Mar 3, 2026, 14:02 EST');
  assert.equal(zoned(T, 'stamp'), 'Tue Mar 3, 14:02 EST');
  assert.equal(zoned(SUMMER, 'time'), '14:02:11 EDT');
  assert.equal(zoned(Date.UTC(2026, 2, 3, 5, 0, 0), 'time'), '00:00:00 EST', 'midnight is 00, never 24');
  assert.equal(clock(T), '14:02:11');
  assert.equal(hhmm(T), '14:02');
  assert.equal(dayLabel(Date.UTC(2026, 10, 25, 3)), 'Nov 24', 'the date there, not UTC\'s');
  assert.equal(zoneLabel(SUMMER), 'EDT');
  setTimeZone('Europe/London');
  assert.equal(zoned(T, 'time'), '19:02:11 GMT');
  assert.equal(zoned(SUMMER, 'time'), '19:02:11 GMT+1');
  setTimeZone('Asia/Kolkata');
  assert.equal(zoned(T, 'day'), 'Mar 4, 00:32:11 GMT+5:30', 'whole minutes, and the date there');
  setTimeZone('UTC');
  assert.equal(zoned(T, 'time'), '19:02:11 UTC');
  setTimeZone('');
});

test('same day, offset, and a wall time typed in the zone shown', () => {
  setTimeZone('America/New_York');
  assert.ok(sameDay(T, T + 6 * 3600_000), '20:02 the same day in New York (in UTC the 4th already)');
  assert.ok(!sameDay(T, T + 10 * 3600_000), '00:02 the next day in New York');
  assert.equal(zoneOffset(T), -5 * 3600_000);
  assert.equal(zoneOffset(SUMMER), -4 * 3600_000);
  assert.equal(fromWallTime('2027-01-15T10:04'), Date.UTC(2027, 0, 15, 15, 4));
  assert.equal(toWallTime(Date.UTC(2027, 0, 15, 15, 4)), '2027-01-15T10:04');
  // summer time begins 8 Mar 2026 at 02:00 (skipped: the wall time an hour on), ends 1 Nov at 02:00 (01:30 twice: the first)
  assert.equal(fromWallTime('2026-03-08T02:30'), Date.UTC(2026, 2, 8, 7, 30));
  assert.equal(fromWallTime('2026-11-01T01:30'), Date.UTC(2026, 10, 1, 5, 30));
  assert.equal(fromWallTime('not a time'), null);
  assert.equal(fromWallTime('2026-02-30T10:00'), null);
  setTimeZone('Europe/London');
  assert.equal(fromWallTime('2027-01-15T10:04'), Date.UTC(2027, 0, 15, 10, 4));
  assert.equal(fromWallTime('2026-07-01T10:04'), Date.UTC(2026, 6, 1, 9, 4));
  setTimeZone('');
});
