// When a watchlist sparkline that failed is asked again (static/js/stream/render/sparklines.js):
// a history the broker did not send in time (the quotes failing over, a busy server) heals,
// so the row does not keep an error for the page's life; a symbol no link quotes does not.
// Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import { MAX_RETRIES, RETRY_MS, retryIn } from '../../static/js/stream/render/sparklines.js';

test('a broker that did not answer in time is asked again, later each time, a few times', () => {
  const body = { error: 'broker_error', message: 'The broker did not send MSFT history within 11 s.' };
  assert.deepEqual([0, 1, 2].map((tries) => retryIn(tries, 424, body)), [RETRY_MS, 2 * RETRY_MS, 4 * RETRY_MS]);
  assert.equal(retryIn(MAX_RETRIES, 424, body), null);
});

test('the network and a server error heal too; a rate limit waits what it says', () => {
  assert.equal(retryIn(0, 0, null), RETRY_MS);
  assert.equal(retryIn(0, 503, null), RETRY_MS);
  assert.equal(retryIn(0, 429, { error: 'rate_limited', retry_after: 7 }), 7000);
});

test('an unknown symbol or one no link quotes is not asked again', () => {
  assert.equal(retryIn(0, 404, { error: 'unknown_symbol' }), null);
  assert.equal(retryIn(0, 409, { error: 'no_market_data' }), null);
  assert.equal(retryIn(0, 400, { error: 'bad_request' }), null);
});
