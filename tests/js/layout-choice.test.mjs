// The page's layout choices (static/js/stream/layout-choice.js): the phone dashboard's
// positions / watchlist / orders switcher, the prices / greeks toggles and the chain's
// side, kept in cookies the server reads (streaming/templatetags/layout.py: the same
// choices, checked below). Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import {
  CHOICES, COOKIE_MAX_AGE_S, choiceCookie, choose, pressedStates, readChoice, toggled,
} from '../../static/js/stream/layout-choice.js';

test('each choice has its values, the first the default, and its cookie', () => {
  assert.deepEqual(Object.keys(CHOICES), ['view', 'pos-cols', 'chain-side', 'chain-cols']);
  assert.deepEqual(CHOICES.view.values, ['positions', 'watchlist', 'orders']);
  assert.deepEqual(CHOICES['chain-side'].values, ['call', 'put']);
  assert.equal(CHOICES.view.cookie, 'sd_view');
  assert.throws(() => { CHOICES.view.values.push('news'); }, TypeError);
});

test('the server reads the same choices and cookies', () => {
  const py = readFileSync(new URL('../../streaming/templatetags/layout.py', import.meta.url), 'utf8');
  const server = {};
  for (const m of py.matchAll(/"([\w-]+)": \("(\w+)", \(([^)]*)\)\)/g)) {
    server[m[1]] = { cookie: m[2], values: [...m[3].matchAll(/"(\w+)"/g)].map((v) => v[1]) };
  }
  const client = Object.fromEntries(Object.entries(CHOICES).map(([k, c]) => [k, { cookie: c.cookie, values: [...c.values] }]));
  assert.deepEqual(server, client);
});

test('a value is kept only if it is one of the choice\'s; else the default', () => {
  assert.equal(choose('view', 'orders'), 'orders');
  assert.equal(choose('view', 'news'), 'positions');
  assert.equal(choose('view', undefined), 'positions');
  assert.equal(choose('view', 'Orders'), 'positions');
  assert.equal(choose('chain-side', 'put'), 'put');
  assert.equal(choose('nope', 'x'), null);
});

test('a toggle flips a two-valued choice and starts from the default', () => {
  assert.equal(toggled('pos-cols', 'prices'), 'greeks');
  assert.equal(toggled('pos-cols', 'greeks'), 'prices');
  assert.equal(toggled('pos-cols', null), 'greeks');
  assert.equal(toggled('chain-cols', 'bogus'), 'greeks');
  assert.equal(toggled('view', 'orders'), 'positions');
  assert.equal(toggled('nope', 'x'), null);
});

test('the kept choice is read from document.cookie; a forged or missing one is the default', () => {
  const jar = 'csrftoken=abc; sd_view=watchlist; sd_chain_side=put';
  assert.equal(readChoice(jar, 'view'), 'watchlist');
  assert.equal(readChoice(jar, 'chain-side'), 'put');
  assert.equal(readChoice(jar, 'chain-cols'), 'prices');
  assert.equal(readChoice('sd_view=<script>', 'view'), 'positions');
  assert.equal(readChoice('xsd_view=orders', 'view'), 'positions');
  assert.equal(readChoice('', 'view'), 'positions');
  assert.equal(readChoice(undefined, 'view'), 'positions');
  assert.equal(readChoice(jar, 'nope'), null);
});

test('the cookie is site-wide for a year, Lax, Secure over https, and only carries a valid value', () => {
  assert.equal(choiceCookie('view', 'orders', false), `sd_view=orders; Path=/; Max-Age=${COOKIE_MAX_AGE_S}; SameSite=Lax`);
  assert.equal(choiceCookie('chain-side', 'put', true), `sd_chain_side=put; Path=/; Max-Age=${COOKIE_MAX_AGE_S}; SameSite=Lax; Secure`);
  assert.equal(choiceCookie('view', 'x; Path=/admin', false), `sd_view=positions; Path=/; Max-Age=${COOKIE_MAX_AGE_S}; SameSite=Lax`);
  assert.equal(COOKIE_MAX_AGE_S, 31536000);
  assert.equal(choiceCookie('nope', 'x'), null);
});

test('buttons are pressed where they name the value, a toggle while the value is its own', () => {
  assert.deepEqual(pressedStates(['positions', 'watchlist', 'orders'], 'watchlist'), [
    { index: 0, pressed: false }, { index: 1, pressed: true }, { index: 2, pressed: false },
  ]);
  assert.deepEqual(pressedStates([null], 'greeks', 'greeks'), [{ index: 0, pressed: true }]);
  assert.deepEqual(pressedStates([null], 'prices', 'greeks'), [{ index: 0, pressed: false }]);
});
