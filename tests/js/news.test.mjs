// News, the pure parts (static/js/stream/news.js): merge by id (an update replaces, never
// repeats), cursors, local wall time in the process's time zone, relative age, URLs.
// Run: node --test tests/js/  (the time zone tests set TZ per child: see the last test)
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import {
  aboutSymbols, feedText, localTime, mergeNews, newestCursor, newsUrl, panelSymbols, relativeAge,
} from '../../static/js/stream/news.js';

const item = (id, cursor, created, extra = {}) => ({
  id, cursor, headline: `h${id}`, symbols: ['AAPL'], created_at: created, updated_at: created, ...extra,
});

test('an update replaces its item in place; an older revision never wins', () => {
  let list = mergeNews([], [item('alpaca:1', 5, 1000), item('alpaca:2', 6, 2000)]);
  assert.deepEqual(list.map((x) => x.id), ['alpaca:2', 'alpaca:1']);
  list = mergeNews(list, [item('alpaca:1', 9, 1000, { headline: 'new', updated_at: 5000 })]);
  assert.deepEqual(list.map((x) => [x.id, x.headline]), [['alpaca:2', 'halpaca:2'], ['alpaca:1', 'new']]);
  list = mergeNews(list, [item('alpaca:1', 7, 1000, { headline: 'stale' })]);
  assert.equal(list.find((x) => x.id === 'alpaca:1').headline, 'new');
  assert.equal(mergeNews(list, [{ id: 3 }, null, 'x']).length, 2);
  assert.equal(mergeNews([], Array.from({ length: 150 }, (_, i) => item(`a:${i}`, i, i))).length, 100);
});

test('cursors and symbols', () => {
  assert.equal(newestCursor(4, [item('a', 9, 1), item('b', 2, 1)]), 9);
  assert.equal(newestCursor(undefined, []), 0);
  assert.deepEqual(aboutSymbols([item('a', 1, 1), item('b', 2, 1, { symbols: ['MSFT'] })], ['MSFT']).map((x) => x.id), ['b']);
  assert.equal(newsUrl('/api/news', ['AAPL', 'BRK.B'], 12, 50), '/api/news?symbols=AAPL%2CBRK.B&after=12&limit=50');
  assert.equal(newsUrl('/api/news', ['AAPL']), '/api/news?symbols=AAPL');
});

test('relative age', () => {
  const now = 1_800_000_000_000;
  assert.equal(relativeAge(now - 59_000, now), 'just now');
  assert.equal(relativeAge(now + 5_000, now), 'just now');
  assert.equal(relativeAge(now - 3 * 60_000, now), '3 min ago');
  assert.equal(relativeAge(now - 2 * 3_600_000 - 1, now), '2 h ago');
  assert.equal(relativeAge(now - 86_400_000, now), '1 day ago');
  assert.equal(relativeAge(now - 5 * 86_400_000, now), '5 days ago');
});

test('feed states read as sentences', () => {
  assert.equal(feedText({ state: 'live', reason: '' }), '');
  assert.equal(feedText({ state: 'error', reason: 'Alpaca rejected the key for news (402 auth failed)' }),
    'news unavailable: Alpaca rejected the key for news (402 auth failed)');
  assert.equal(feedText(null), '');
});

test('a headline\'s time is the trader\'s zone, named (New York\'s unless chosen), whatever the browser\'s zone', () => {
  // 2026-03-02T14:30:00Z, in browsers of three zones (each a child with its own TZ)
  const ms = Date.UTC(2026, 2, 2, 14, 30);
  const chosen = { '': '09:30 EST', 'Asia/Kolkata': '20:00 GMT+5:30', 'America/Los_Angeles': '06:30 PST' };
  for (const tz of ['Asia/Kolkata', 'America/Los_Angeles', 'UTC']) {
    for (const [zone, expected] of Object.entries(chosen)) {
      const code = `Promise.all([import('${new URL('../../static/js/stream/news.js', import.meta.url)}'),
        import('${new URL('../../static/js/stream/format.js', import.meta.url)}')]).then(([m, f]) => {
        f.setTimeZone(${JSON.stringify(zone)});
        process.stdout.write(JSON.stringify([m.localTime(${ms}, ${ms}), m.localTime(${ms}, ${ms} + 3 * 86400000), m.localStamp(${ms})]));
      })`;
      const out = JSON.parse(execFileSync(process.execPath, ['-e', code], { env: { ...process.env, TZ: tz } }).toString());
      assert.equal(out[0], expected, `${tz} browser, zone "${zone}"`);
      assert.equal(out[1], `Mar 2, ${expected}`, tz);
      assert.ok(out[2].startsWith('Mar 2, 2026, '), out[2]);
    }
  }
});

test('the panel follows the watchlist and the positions\' underlyings, stocks only', () => {
  const accounts = new Map([['A1', { positions: new Map([
    ['.AAPL260116C200', { symbol: '.AAPL260116C200', underlying: 'AAPL' }],
    ['TSLA', { symbol: 'TSLA', underlying: 'TSLA' }],
    ['/ESZ26', { symbol: '/ESZ26', underlying: '/ES' }],
  ]) }]]);
  assert.deepEqual(panelSymbols(['AAPL', 'SPY', '/ESZ26'], accounts), ['AAPL', 'SPY', 'TSLA']);
  assert.deepEqual(panelSymbols([], null), []);
});
