#!/usr/bin/env node
// The /risk page's limits row as the browser computes it, for
// tests/streaming/test_risk_page_rows.py to compare with streaming/risk/page/rows.py and
// limits/runner.py. stdin: {snapshot, bands: [[value, low, high]], losses: [[pnl, limit]]};
// stdout: {beta_delta, day_pnl, bands: [[state, sentence]], losses: [[state, sentence]]}.
import { applySnapshot, initialState } from '../../../static/js/stream/state.js';
import { portfolioBetaDelta } from '../../../static/js/stream/exposure.js';
import { bandStatus, limitDayPnl, lossStatus } from '../../../static/js/risk/limits.js';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const input = JSON.parse(text);
const snapshot = input.snapshot;
const state = applySnapshot(initialState(), snapshot, 'page');
process.stdout.write(`${JSON.stringify({
  beta_delta: portfolioBetaDelta(state, snapshot.now_ms ?? snapshot.t),
  day_pnl: limitDayPnl(state),
  bands: input.bands.map(([v, lo, hi]) => bandStatus(v, lo, hi)),
  losses: input.losses.map(([p, l]) => lossStatus(p, l)),
})}\n`);
