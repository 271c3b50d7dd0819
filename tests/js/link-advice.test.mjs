// What the trader's page says about a rejected link (static/js/stream/link-advice.js).
// The cases are shared with the server-rendered page's twin (accounts/link_advice.py,
// tests/accounts/test_link_advice.py): tests/fixtures/link-advice.json. Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { linkAdvice, waitText } from '../../static/js/stream/link-advice.js';

const { cases } = JSON.parse(readFileSync(new URL('../fixtures/link-advice.json', import.meta.url), 'utf8'));

for (const c of cases) {
  test(c.name, () => {
    assert.equal(linkAdvice(c.link, c.now === null ? undefined : c.now), c.advice);
  });
}

test('nothing to say without a link status', () => {
  for (const link of [undefined, null, 'error', 42, {}, { state: 'live' }]) assert.equal(linkAdvice(link, 0), '');
});

test('an error without kinds still gets its sentence, dated by the link', () => {
  const link = { broker: 'tradier', label: 'T', state: 'error', reason: 'credential rejected: 401', since: 1000, retry_in: 20 };
  assert.equal(
    linkAdvice(link, 1000),
    'Tradier rejected the saved credential for “T”: ask your operator to link the account again in the admin (Broker links). streamdesk tries it again by itself in about 20 s.',
  );
});

test('a wait is rounded up, never promising a retry sooner than it is', () => {
  assert.equal(waitText(1), '1 s');
  assert.equal(waitText(59_001), '1 min');
  assert.equal(waitText(59_000), '59 s');
  assert.equal(waitText(60_001), '2 min');
  assert.equal(waitText(3_600_000), '1 h');
  assert.equal(waitText(3_600_001), '2 h');
});

test('a broken retry_in or since never yields a time', () => {
  const base = { broker: 'alpaca', label: 'A', state: 'error', reason: 'credential rejected: x' };
  const what = 'Alpaca rejected the saved credential for “A”: ask your operator to link the account again in the admin (Broker links).';
  assert.equal(linkAdvice({ ...base, since: 0, retry_in: -1 }, 0), what);
  assert.equal(linkAdvice({ ...base, since: 0, retry_in: '15' }, 0), what);
  assert.equal(linkAdvice({ ...base, retry_in: 15 }, 0), `${what} streamdesk keeps trying it by itself.`);
});
