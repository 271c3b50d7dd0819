#!/usr/bin/env node
// Every position's risk numbers of a snapshot (stdin), as the browser computes them: the
// reducer (state.js), then exposure.js, at the snapshot's `now_ms` (else its `t`).
// stdout: [{account, ...exposure}]; tests/streaming/test_exposure_agree.py compares it
// with streaming/risk/exposure.py.
import { applySnapshot, initialState } from '../../../static/js/stream/state.js';
import { positionExposure } from '../../../static/js/stream/exposure.js';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const snapshot = JSON.parse(text);
const now = snapshot.now_ms ?? snapshot.t;
const state = applySnapshot(initialState(), snapshot, 'page');
const out = [...state.accounts.values()].flatMap((acct) => [...acct.positions.values()].map((p) => ({ account: acct.number, ...positionExposure(state, p, now) })));
process.stdout.write(`${JSON.stringify(out)}\n`);
