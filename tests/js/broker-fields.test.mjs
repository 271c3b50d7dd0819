// The admin's broker-link form shows only the chosen broker's section
// (static/js/admin/broker-fields.js). Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import { sectionBroker, sectionShown, shownSections } from '../../static/js/admin/broker-fields.js';

const PAGE = [
  ['module', 'aligned'], // the main section: user, broker, label…
  ['module', 'aligned', 'broker-fields', 'broker-tastytrade'],
  ['module', 'aligned', 'broker-fields', 'broker-tradier'],
  ['module', 'aligned', 'broker-fields', 'broker-alpaca'],
];

test('a section belongs to the broker its class names', () => {
  assert.equal(sectionBroker(['module', 'broker-fields', 'broker-tradier']), 'tradier');
  assert.equal(sectionBroker(['broker-alpaca', 'broker-fields']), 'alpaca');
  assert.equal(sectionBroker(['module', 'aligned']), null);
  assert.equal(sectionBroker(['broker-fields']), null);
  assert.equal(sectionBroker(['broker-']), null);
  assert.equal(sectionBroker(new Set(['broker-fields', 'broker-tastytrade'])), 'tastytrade');
});

test('only the chosen broker\'s section is shown, and the main one always', () => {
  assert.deepEqual(shownSections('tastytrade', PAGE), [true, true, false, false]);
  assert.deepEqual(shownSections('tradier', PAGE), [true, false, true, false]);
  assert.deepEqual(shownSections('alpaca', PAGE), [true, false, false, true]);
});

test('with no broker chosen every section is shown, as without the script', () => {
  assert.deepEqual(shownSections('', PAGE), [true, true, true, true]);
  assert.deepEqual(shownSections(null, PAGE), [true, true, true, true]);
});

test('a broker no section belongs to hides every broker section', () => {
  assert.deepEqual(shownSections('ibkr', PAGE), [true, false, false, false]);
  assert.equal(sectionShown('ibkr', null), true);
});
