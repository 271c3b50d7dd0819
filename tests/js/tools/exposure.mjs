#!/usr/bin/env node
/*
 * Every position's risk numbers of a snapshot, as the browser computes them: the snapshot
 * goes through the page's reducer (state.js), then exposure.js.
 *
 *   node tests/js/tools/exposure.mjs < snapshot.json > exposures.json
 *
 * The clock is the snapshot's `now_ms` (else its `t`). stdout: [{account, ...exposure}]
 * in the reducer's order. tests/streaming/test_exposure_agree.py compares it with
 * streaming/risk/exposure.py. Exit 2 on bad input.
 */
import { applySnapshot, initialState } from '../../../static/js/stream/state.js';
import { positionExposure } from '../../../static/js/stream/exposure.js';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
let snapshot;
try {
  snapshot = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (!snapshot || typeof snapshot !== 'object') throw new Error('not a snapshot object');
} catch (e) {
  process.stderr.write(`exposure.mjs: ${e.message}\n`);
  process.exit(2);
}
const now = snapshot.now_ms ?? snapshot.t;
const state = applySnapshot(initialState(), snapshot, 'page');
const out = [];
for (const acct of state.accounts.values()) {
  for (const p of acct.positions.values()) out.push({ account: acct.number, ...positionExposure(state, p, now) });
}
process.stdout.write(`${JSON.stringify(out)}\n`);
