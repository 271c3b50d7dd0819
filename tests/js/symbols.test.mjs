// The browser's symbol rules agree with the server's on shared cases
// (tests/fixtures/symbols.json; the server's side: tests/streaming/test_symbol_rules.py).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { normalizeSymbol } from '../../static/js/stream/contract.js';

const CASES = JSON.parse(readFileSync(new URL('../fixtures/symbols.json', import.meta.url), 'utf8'));

test('valid symbols take their canonical form', () => {
  for (const [raw, canonical] of Object.entries(CASES.valid)) assert.equal(normalizeSymbol(raw), canonical, raw);
});

test('invalid symbols are refused', () => {
  for (const raw of CASES.invalid) assert.equal(normalizeSymbol(raw), null, raw);
});
