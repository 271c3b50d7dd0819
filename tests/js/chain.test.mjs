// The option chain page's pure parts (static/js/stream/chain.js): cell text (the same as
// streaming/chains/service.py `cell_text`), a side's values (chain first, newer stream values
// over it), the symbols streamed and released when the window moves, the messages (the
// polling URL that carries a tab's own symbols: tests/js/transport.test.mjs).
// Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';
import { setTimeZone } from '../../static/js/stream/format.js';

import {
  COLUMNS, DEFAULT_STRIKES, STRIKE_COUNTS, cellText, chainQuery, chainSymbols, errorMessage, greeksAgeText,
  mid, oldestGreeksT, sideValues, strikeText, windowChange,
} from '../../static/js/stream/chain.js';

test('columns and strike counts are the contract\'s', () => {
  assert.deepEqual(COLUMNS, ['bid', 'ask', 'mark', 'volume', 'open_interest', 'iv', 'delta', 'gamma', 'theta', 'vega']);
  assert.deepEqual(STRIKE_COUNTS, [10, 20, 40]);
  assert.equal(DEFAULT_STRIKES, 20);
});

test('cells are written as the server writes them; null is a dash, never 0', () => {
  assert.deepEqual([cellText('bid', 1.5), cellText('mark', null), cellText('iv', 0.2345)], ['1.50', '—', '23.4%']);
  assert.equal(cellText('volume', 12345), '12,345');
  assert.equal(cellText('open_interest', 0), '0');
  assert.equal(cellText('delta', 0.51234), '0.512');
  assert.equal(cellText('gamma', 0.012345), '0.0123');
  assert.equal(cellText('theta', -0.0456), '-0.046');
  assert.equal(cellText('vega', 0.1), '0.100');
  assert.equal(cellText('bid', undefined), '—');
  assert.equal(cellText('bid', Number.NaN), '—');
  assert.deepEqual([strikeText(590), strikeText(2.5), strikeText(12.75)], ['590', '2.5', '12.75']);
});

test('mark is the mid of bid and ask, or null', () => {
  assert.equal(mid(1.0, 1.2), 1.1);
  assert.equal(mid(null, 1.2), null);
  assert.equal(mid(0, 0), null);
  assert.equal(mid(0, 0.05), 0.025);
});

test('stream values override the chain\'s; greeks only when not older', () => {
  const side = { symbol: '.X', bid: 1.0, ask: 1.2, iv: 0.3, greeks_t: 2000 };
  const out = sideValues(side, { bid: 1.1, t: 5 }, { iv: 0.25, delta: 0.4, t: 1000 });
  assert.deepEqual([out.bid, out.ask, out.mark, out.quote_t], [1.1, 1.2, 1.15, 5]);
  assert.deepEqual([out.iv, out.delta, out.greeks_t], [0.3, null, 2000]);
  const newer = sideValues(side, null, { iv: 0.25, delta: 0.4, t: 3000 });
  assert.deepEqual([newer.iv, newer.delta, newer.greeks_t], [0.25, 0.4, 3000]);
  assert.equal(sideValues({ symbol: '.X' }, null, null).mark, null);
  // a field the batch does not carry keeps its value (latest-wins per field)
  assert.equal(sideValues({ symbol: '.X', volume: 7 }, { bid: 1 }, null).volume, 7);
});

test('the page streams its rows\' options; a window move releases only what left', () => {
  const chain = { rows: [
    { strike: 1, call: { symbol: '.A1C1' }, put: { symbol: '.A1P1' } },
    { strike: 2, call: { symbol: '.A1C2' }, put: { symbol: '.A1P2' } },
  ] };
  assert.deepEqual(chainSymbols(chain), ['.A1C1', '.A1P1', '.A1C2', '.A1P2']);
  assert.deepEqual(chainSymbols(null), []);
  assert.deepEqual(windowChange(['a', 'b', 'c'], ['b', 'c', 'd']), { remove: ['a'], add: ['d'] });
  assert.deepEqual(windowChange([], ['x']), { remove: [], add: ['x'] });
});

test('Tradier\'s greeks say their age', () => {
  const t = Date.UTC(2026, 0, 5, 15, 0, 0);
  setTimeZone('America/New_York');
  assert.equal(greeksAgeText(t, t + 37 * 60000), 'greeks as of 10:00 EST, 37 min ago (Tradier recomputes greeks hourly)');
  assert.equal(greeksAgeText(t, t + 20000), 'greeks as of 10:00 EST, just now (Tradier recomputes greeks hourly)');
  setTimeZone('');
  assert.equal(greeksAgeText(null, t), '');
  assert.equal(oldestGreeksT([{ greeks_t: 5 }, { greeks_t: 3 }, { greeks_t: null }]), 3);
  assert.equal(oldestGreeksT([{}]), null);
});

test('errors are sentences; a rate limit counts down', () => {
  assert.equal(errorMessage({ code: 'rate_limited', error: 'rate-limited', retry_in: 6.2 }), 'The broker is rate-limited, retrying in 7 s');
  assert.equal(errorMessage({ code: 'rate_limited', retry_in: 7 }, 3), 'The broker is rate-limited, retrying in 3 s');
  assert.equal(errorMessage({ code: 'no_options', error: 'the broker lists no options for BRK.A' }), 'the broker lists no options for BRK.A');
  assert.equal(errorMessage(null), 'The chain could not be loaded.');
});

test('chain URLs carry only what is set', () => {
  assert.equal(chainQuery('/api/chain/SPY', { expiration: '2026-12-18', strikes: 40 }), '/api/chain/SPY?expiration=2026-12-18&strikes=40');
  assert.equal(chainQuery('/api/chain/SPY', {}), '/api/chain/SPY');
});

