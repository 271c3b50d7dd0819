// The words the page shows while its quotes are thinned (static/js/stream/quote-pace.js),
// and the reducer's hold of the socket's pace (docs/streaming-contract.md, "Under load":
// the `quote_pace` frame). Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import { quotePaceOf, thinnedWords } from '../../static/js/stream/quote-pace.js';
import { applyFrame, applySnapshot, initialState } from '../../static/js/stream/state.js';

const frame = (interval_ms, cause) => ({ type: 'quote_pace', interval_ms, cause });

test('the words say how often and why, in the two causes the server knows', () => {
  assert.equal(thinnedWords(quotePaceOf(frame(600, 'server'))),
    'Quotes thinned to 1 per 0.6 s: server busy');
  assert.equal(thinnedWords(quotePaceOf(frame(300, 'connection'))),
    'Quotes thinned to 1 per 0.3 s: connection behind');
  assert.equal(thinnedWords(quotePaceOf(frame(1000, 'server'))),
    'Quotes thinned to 1 per 1 s: server busy');
  assert.equal(thinnedWords(quotePaceOf(frame(250, 'connection'))),
    'Quotes thinned to 1 per 0.25 s: connection behind');
});

test('back at the minimum, or never thinned, nothing is said', () => {
  assert.equal(quotePaceOf(frame(150, null)), null);
  assert.equal(thinnedWords(null), '');
});

test('a cause this page does not know still says how often, without a reason', () => {
  assert.equal(thinnedWords(quotePaceOf(frame(600, 'maintenance'))), 'Quotes thinned to 1 per 0.6 s');
});

test('a malformed frame is no pace at all', () => {
  for (const bad of [frame('600', 'server'), frame(-1, 'server'), frame(0, 'server'), { type: 'quote_pace' }]) {
    assert.equal(quotePaceOf(bad), null, JSON.stringify(bad));
  }
});

test('the state holds the pace until the server says otherwise, and a new socket starts unthinned', () => {
  let s = initialState();
  assert.equal(s.quotePace, null);
  s = applyFrame(s, frame(600, 'server'));
  assert.deepEqual(s.quotePace, { intervalMs: 600, cause: 'server' });
  const quotes = applyFrame(s, { type: 'quotes', quotes: { SPY: { bid: 1, t: 5 } }, greeks: {}, t: 5 });
  assert.equal(quotes.quotePace, s.quotePace); // quotes frames do not touch it
  s = applyFrame(s, frame(150, null));
  assert.equal(s.quotePace, null);
  s = applyFrame(s, frame(300, 'connection'));
  s = applyFrame(s, { type: 'hello', seq: 0, epoch: 'E1' }); // a reconnect: a new socket
  assert.equal(s.quotePace, null);
});

test('a polling page has no socket to thin: a poll forgets the pace a socket said', () => {
  const snap = { epoch: 'E1', seq: 0, accounts: [], quotes: {}, greeks: {}, orders: [], links: [], t: 1 };
  const paced = applyFrame(initialState(), frame(1000, 'server'));
  assert.equal(applySnapshot(paced, snap, 'poll').quotePace, null);
  assert.deepEqual(applySnapshot(paced, snap, 'stream').quotePace, { intervalMs: 1000, cause: 'server' });
});
