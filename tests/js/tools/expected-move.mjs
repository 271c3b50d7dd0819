#!/usr/bin/env node
// The chain page's expected-move line as the browser writes it (static/js/stream/expected-move.js
// `expectedMoveView`), for tests/streaming/test_expected_move.py to compare with the server's
// first paint (streaming/portfolio/expected_move.py `expected_move_text`).
// stdin: {cases: [{name, expiration, price, rows: [{strike, callIv, putIv}], now}]}; stdout: [text].
import { expectedMoveView } from '../../../static/js/stream/expected-move.js';

let text = '';
for await (const chunk of process.stdin) text += chunk;
process.stdout.write(`${JSON.stringify(JSON.parse(text).cases.map((c) => expectedMoveView(c).text))}\n`);
