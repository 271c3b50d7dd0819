/*
 * The /pnl page: the server rendered the stats and the newest samples; this draws the
 * day P&L curve (total and each account) with lightweight-charts, marks the high, low
 * and drawdown at their times, and — while the day shown is today — polls /api/pnl every
 * sample interval and appends the new points (the page polls, it opens no stream: the
 * samples are the database's, so the curve is the same after a restart of the server).
 */
import { LineSeries, createChart, createSeriesMarkers } from '../../vendor/lightweight-charts/lightweight-charts.standalone.production.mjs';
import { chartPoints, mergeAnswer, statMarkers, statsText } from './pnl-model.js';

const COLORS = ['#f6f5f4', '#62a0ea', '#57e389', '#ffa348', '#c061cb', '#f66151', '#99c1f1'];

/** A stats row for a series that appeared after the page was rendered (an account whose
 * data came in later), in the server's markup. */
function addRow(body, s) {
  body.querySelector('[data-pnl-empty]')?.remove();
  const row = body.ownerDocument.createElement('tr');
  row.setAttribute('data-pnl-row', s.account);
  const head = body.ownerDocument.createElement('th');
  head.scope = 'row';
  head.textContent = s.account ? `${s.label} ${s.broker} ${s.account}` : s.label;
  row.append(head);
  for (const field of ['net_liq', 'day_pnl', 'high', 'low', 'drawdown', 'points']) {
    const cell = body.ownerDocument.createElement('td');
    cell.className = 'num';
    cell.setAttribute('data-field', field);
    row.append(cell);
  }
  body.append(row);
  return row;
}

function createPnlPage(doc, root, data) {
  const box = root.querySelector('[data-pnl-chart]');
  const status = root.querySelector('[data-pnl-status]');
  let answer = data;
  const lines = new Map(); // account -> {series, markers}
  const chart = createChart(box, {
    autoSize: true,
    layout: { background: { color: 'transparent' }, textColor: '#9aa4b2', attributionLogo: true },
    grid: { vertLines: { color: 'rgba(128,128,128,0.12)' }, horzLines: { color: 'rgba(128,128,128,0.12)' } },
    rightPriceScale: { borderVisible: false },
    timeScale: { borderVisible: false, timeVisible: true, secondsVisible: true },
  });

  function draw() {
    answer.series.forEach((s, i) => {
      let line = lines.get(s.account);
      if (!line) {
        const series = chart.addSeries(LineSeries, {
          color: COLORS[i % COLORS.length], lineWidth: s.account === '' ? 3 : 1.5,
          title: s.account ? s.account : s.label,
        });
        line = { series, markers: createSeriesMarkers(series, []) };
        lines.set(s.account, line);
      }
      line.series.setData(chartPoints(s.points));
      line.markers.setMarkers(s.account === '' || answer.series.length === 1 ? statMarkers(s) : []);
      let row = root.querySelector(`[data-pnl-row="${CSS.escape(s.account)}"]`);
      const body = root.querySelector('.pnl-stats tbody');
      if (!row && body) row = addRow(body, s);
      if (row) {
        const text = statsText(s);
        for (const [field, value] of Object.entries(text)) {
          const cell = row.querySelector(`[data-field="${field}"]`);
          if (cell && cell.textContent !== value) cell.textContent = value;
        }
      }
    });
    root.setAttribute('data-points', String(answer.series.reduce((n, s) => n + s.points.length, 0)));
  }

  async function poll() {
    try {
      const r = await fetch(`/api/pnl?day=${encodeURIComponent(answer.day)}`, { credentials: 'same-origin' });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      answer = mergeAnswer(answer, await r.json());
      draw();
      status.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC`;
      root.setAttribute('data-polls', String(Number(root.getAttribute('data-polls') || 0) + 1));
    } catch (exc) {
      status.textContent = `Could not refresh (${exc.message}); trying again.`;
    }
  }

  draw();
  if (root.getAttribute('data-today') === 'true') {
    const every = Math.max(1, Number(answer.interval) || 60) * 1000;
    setInterval(poll, every);
  }
}

const root = document.getElementById('pnl-page');
const data = JSON.parse(document.getElementById('pnl-data').textContent);
if (root) createPnlPage(document, root, data);
