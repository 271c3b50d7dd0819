#!/usr/bin/env node
// The dashboard's POP cells as the browser writes them from `GET /api/risk/strategies`, for
// tests/streaming/test_risk_page_rows.py to compare with streaming/pages/dashboard.py
// `pop_cells`. stdin: {strategies: [strategy row]}; stdout: {"<account>|<symbol>": cell}.
import { positionPops } from '../../../static/js/stream/odds.js';

let text = '';
for await (const chunk of process.stdin) text += chunk;
process.stdout.write(`${JSON.stringify(Object.fromEntries(positionPops(JSON.parse(text).strategies)))}\n`);
