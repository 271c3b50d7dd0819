#!/usr/bin/env node
/*
 * The dashboard's portfolio totals of a snapshot, as the browser computes them: the
 * snapshot goes through the page's reducer (state.js), then totals.js.
 *
 *   node tests/js/tools/totals.mjs < snapshot.json > totals.json
 *
 * stdout: `portfolioTotals(state)` without the clock (no staleness): {groups, uncounted}.
 * tests/streaming/test_totals.py compares it with streaming/portfolio/totals.py. Exit 2 on bad input.
 */
import { applySnapshot, initialState } from '../../../static/js/stream/state.js';
import { portfolioTotals } from '../../../static/js/stream/totals.js';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
let snapshot;
try {
  snapshot = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (!snapshot || typeof snapshot !== 'object') throw new Error('not a snapshot object');
} catch (e) {
  process.stderr.write(`totals.mjs: ${e.message}\n`);
  process.exit(2);
}
const { groups, uncounted } = portfolioTotals(applySnapshot(initialState(), snapshot, 'page'));
// the server has no clock-dependent fields: leave them out
const strip = ({ stale, delayed, ...t }) => t; // eslint-disable-line no-unused-vars
const out = groups.map((g) => Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v && typeof v === 'object' && 'have' in v ? strip(v) : v])));
process.stdout.write(`${JSON.stringify({ groups: out, uncounted })}\n`);
