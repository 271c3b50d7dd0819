// static/js/stream/contract.js against docs/streaming-contract.md itself: a close code or
// an account frame type added to the document and not to the browser fails here (the
// server's side is checked by tests/streaming/test_contract.py).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { ACCOUNT_FRAMES, CLOSE } from '../../static/js/stream/contract.js';

const DOC = readFileSync(new URL('../../docs/streaming-contract.md', import.meta.url), 'utf8');

function section(title) {
  const start = DOC.indexOf(`## ${title}\n`);
  assert.ok(start >= 0, `no section ${title}`);
  const rest = DOC.slice(start + title.length + 4);
  const end = rest.search(/^#/m);
  return end < 0 ? rest : rest.slice(0, end);
}

test('the browser knows every documented close code, and no other', () => {
  const codes = [...section('Close codes').matchAll(/^\| (\d{4}) \|/gm)].map((m) => Number(m[1]));
  assert.ok(codes.length >= 8);
  assert.deepEqual(new Set(Object.values(CLOSE)), new Set(codes));
});

test('the account frames are the documented numbered ones', () => {
  const rows = section('Frames (server → client)').split('\n').filter((l) => l.startsWith('| `'));
  const numbered = rows
    .filter((row) => ['`epoch`', '`seq`', '`account`'].every((f) => row.split('|')[3].includes(f)))
    .map((row) => row.match(/^\| `([a-z]+)`/)[1]);
  assert.deepEqual(new Set(numbered), ACCOUNT_FRAMES);
});
