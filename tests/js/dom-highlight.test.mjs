// static/js/stream/render/dom.js: a changed order's highlight is a ring, never a background under
// its text (a tinted background under the muted text read 4.06:1, below WCAG AA's 4.5:1).
import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.window = { matchMedia: () => ({ matches: false }) };
const { highlight, setFlashes } = await import('../../static/js/stream/render/dom.js');

function node() {
  const calls = [];
  return { calls, animate: (frames, options) => calls.push({ frames, options }) };
}

test('the highlight animates an inset ring and leaves the background alone', () => {
  const li = node();
  highlight(li, 'rgb(88, 166, 255)', 1200);
  assert.equal(li.calls.length, 1);
  const { frames, options } = li.calls[0];
  assert.deepEqual(frames.map((f) => Object.keys(f)), [['boxShadow'], ['boxShadow']]);
  assert.equal(frames[0].boxShadow, 'inset 0 0 0 2px rgb(88, 166, 255)');
  assert.equal(options.duration, 1200);
});

test('no highlight while flashes are off', () => {
  setFlashes(false);
  const li = node();
  highlight(li, 'rgb(88, 166, 255)', 1200);
  assert.equal(li.calls.length, 0);
  setFlashes(true);
});
