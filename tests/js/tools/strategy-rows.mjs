#!/usr/bin/env node
// The /risk page's strategies rows as the browser writes them from `GET /api/risk/strategies`,
// for tests/streaming/test_risk_page_rows.py to compare with streaming/risk/page/rows.py
// `strategy_rows`. stdin: {strategies: [strategy row]}; stdout: [strategyCells(row)].
import { strategyCells } from '../../../static/js/risk/strategy-rows.js';

let text = '';
for await (const chunk of process.stdin) text += chunk;
process.stdout.write(`${JSON.stringify(JSON.parse(text).strategies.map(strategyCells))}\n`);
