#!/usr/bin/env node
// The browser's instruments (static/js/stream/instruments.js) for the symbols given (stdin:
// {symbols: [text], prices: [number], near: year, positions: [position]}): the rules table,
// and each symbol's instrument ({kind, symbol, underlying, display, multiplier, ticks: one
// per price}; null when it names none), each position's likewise.
// stdout: {table, instruments, positions}; tests/streaming/test_instrument_rules_agree.py
// compares them with streaming/instruments.
import { fromPosition, parse, rulesTable } from '../../../static/js/stream/instruments.js';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const { symbols, prices, near, positions } = JSON.parse(text);
const described = (it) => (it === null ? null : {
  kind: it.kind, symbol: it.symbol, underlying: it.underlying, display: it.display,
  multiplier: it.multiplier === null ? null : String(it.multiplier),
  ticks: prices.map((p) => it.tick(p)),
});
const out = {
  table: rulesTable(),
  instruments: Object.fromEntries(symbols.map((s) => [s, described(parse(s, near))])),
  positions: (positions || []).map((p) => described(fromPosition(p))),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
