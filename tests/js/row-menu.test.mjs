// Where a row's ⋯ menu opens (static/js/stream/menu-placement.js): in view,
// so a trader sees it and reaching it never scrolls the page (a scroll closes the menu).
// Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import { menuPlacement, sameRowButton } from '../../static/js/stream/menu-placement.js';

const viewport = { width: 1280, height: 800 };
const size = { width: 160, height: 90 };
const button = (top, left = 100) => ({ top, bottom: top + 24, left });

test('under its button when there is room below', () => {
  assert.deepEqual(menuPlacement(button(300), size, viewport), { left: 100, top: 326 });
});

test('above its button when a row at the bottom of the screen leaves no room below', () => {
  const at = button(740);
  const place = menuPlacement(at, size, viewport);
  assert.equal(place.top, 740 - 2 - 90);
  assert.ok(place.top + size.height <= at.top, 'it does not cover the button');
});

test('under its button when there is no room above either (a very short viewport)', () => {
  assert.deepEqual(menuPlacement(button(40), size, { width: 1280, height: 120 }), { left: 100, top: 66 });
});

test('never off the right or left edge', () => {
  assert.equal(menuPlacement(button(300, 1250), size, viewport).left, 1280 - 160 - 4);
  assert.equal(menuPlacement(button(300, -20), size, viewport).left, 4);
});

test('a replaced row is found again by its name: the open menu follows its new button', () => {
  assert.equal(
    sameRowButton({ name: 'data-position', value: '5WT13997|AAPL' }),
    'tr[data-position="5WT13997|AAPL"] [data-row-menu]',
  );
  assert.equal(sameRowButton({ name: 'data-quote', value: 'BRK/B' }), 'tr[data-quote="BRK/B"] [data-row-menu]');
  assert.equal(sameRowButton({ name: 'data-quote', value: 'a"b\\c' }), 'tr[data-quote="a\\"b\\\\c"] [data-row-menu]');
  assert.equal(sameRowButton({ name: 'data-other', value: 'x' }), null);
  assert.equal(sameRowButton(null), null);
});
