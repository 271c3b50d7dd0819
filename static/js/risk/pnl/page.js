/*
 * The /pnl page: the server rendered the stats and the newest samples; this draws the
 * day P&L curve with lightweight-charts — the total the main curve, each account a thin
 * line the legend shows or hides — marks the high, low and drawdown at their times, fits
 * the view to the day until the trader zooms or scrolls, shows every time in the trader's
 * zone (display preferences, format.js), and — while the day shown is today — polls
 * /api/pnl every sample interval and appends the new points (the page polls, it opens no
 * stream: the samples are the database's, so the curve is the same after a restart). A
 * page rendered before the day's first sample grows the total's row, the newest samples
 * and the source line when it comes.
 *
 * lightweight-charts applies a fit (and a resize) at its next paint, not when asked: the
 * view is fitted again whenever the chart changes size (it keeps its bar spacing, so a
 * narrower chart would show only the newest points until the next sample — a minute away
 * at the default interval, never on an earlier day's page), and `data-view` is measured
 * after the paint, so it describes what the chart shows.
 */
import { LineSeries, createChart, createSeriesMarkers } from '../../../vendor/lightweight-charts/lightweight-charts.standalone.production.mjs';
import { csrfToken } from '../../stream/io/csrf.js';
import { setTimeZone, timeZone } from '../../stream/format.js';
import { createPreferences } from '../../stream/io/preferences.js';
import {
  chartEdges, chartPoints, clock, createFitPolicy, mergeAnswer, money, seriesLooks, sourceText, statMarkers, statsText, timeText, viewReport, zoneLabel,
} from './model.js';

/** The newest samples the page lists (the server's PAGE_ROWS). */
const RECENT_ROWS = 10;

/** A stats row for a series that appeared after the page was rendered (an account whose
 * data came in later), in the server's markup. */
function addRow(body, s) {
  const doc = body.ownerDocument;
  body.querySelector('[data-pnl-empty]')?.remove();
  const row = doc.createElement('tr');
  row.setAttribute('data-pnl-row', s.account);
  const head = doc.createElement('th');
  head.scope = 'row';
  head.textContent = s.label;
  if (s.account) {
    const sub = doc.createElement('span');
    sub.className = 'muted pnl-acct';
    sub.textContent = `${s.broker} ${s.account}`;
    head.append(' ', sub);
  }
  row.append(head);
  const cell = (fields, extra = '') => {
    const td = doc.createElement('td');
    td.className = `num${extra}`;
    if (fields.length === 1) td.setAttribute('data-field', fields[0]);
    else {
      fields.forEach((f, i) => {
        const span = doc.createElement('span');
        span.setAttribute('data-field', f);
        if (i) { span.className = 'pnl-at'; td.append(' '); }
        td.append(span);
      });
    }
    row.append(td);
  };
  cell(['net_liq'], ' pnl-net-liq');
  cell(['day_pnl']);
  cell(['high', 'high_at']);
  cell(['low', 'low_at']);
  cell(['drawdown', 'drawdown_at']);
  cell(['points'], ' pnl-points');
  body.append(row);
  return row;
}

function createPnlPage(doc, root, data) {
  const box = root.querySelector('[data-pnl-chart]');
  const status = root.querySelector('[data-pnl-status]');
  const legend = root.querySelector('[data-pnl-legend]');
  let answer = data;
  const lines = new Map(); // account -> {series, markers}
  const chosen = new Set(); // accounts the legend shows
  const fit = createFitPolicy();
  let edges = { first: null, last: null }; // the chart's first and last bar (s)
  const chart = createChart(box, {
    autoSize: true,
    layout: { background: { color: 'transparent' }, textColor: '#9aa4b2', attributionLogo: true },
    grid: { vertLines: { color: 'rgba(128,128,128,0.12)' }, horzLines: { color: 'rgba(128,128,128,0.12)' } },
    rightPriceScale: { borderVisible: false, scaleMargins: { top: 0.15, bottom: 0.15 } },
    timeScale: {
      borderVisible: false, timeVisible: true, secondsVisible: true, rightOffsetPixels: 36,
      tickMarkFormatter: (t) => clock(t * 1000),
    },
    localization: { timeFormatter: (t) => timeText(t * 1000) },
  });
  // the trader's zoom or scroll is theirs: the view is no longer fitted at each draw
  for (const kind of ['wheel', 'pointerdown', 'touchstart']) box.addEventListener(kind, () => fit.interacted(), { passive: true });

  function report() {
    const total = answer.series[0];
    const pts = chartPoints(total ? total.points : []).filter((x) => x.value !== undefined);
    const first = pts.length ? pts[0].time : null;
    const last = pts.length ? pts[pts.length - 1].time : null;
    const scale = chart.timeScale();
    const x = (t) => (t === null ? null : scale.timeToCoordinate(t));
    const view = viewReport(scale.getVisibleRange(), first, last, x(first), x(last), scale.width(), {
      leftX: x(edges.first), rightX: x(edges.last), bar: scale.options().barSpacing, box: box.clientWidth,
    });
    root.setAttribute('data-view', JSON.stringify(view));
  }
  // measured once the chart has painted what it was asked (its paint is the frame's first
  // callback: the library asks for the frame before this does)
  let reportPlanned = false;
  function planReport() {
    if (reportPlanned) return;
    reportPlanned = true;
    requestAnimationFrame(() => { reportPlanned = false; report(); });
  }
  chart.timeScale().subscribeVisibleLogicalRangeChange(() => planReport());
  // a new size keeps the bar spacing: fitted again, unless the trader chose the view
  chart.timeScale().subscribeSizeChange(() => {
    if (fit.shouldFit()) chart.timeScale().fitContent();
    planReport();
  });

  function drawLegend(looks) {
    if (!legend || answer.series.length < 2) return;
    for (const [i, look] of looks.entries()) {
      const s = answer.series[i];
      let item = legend.querySelector(`[data-pnl-show="${CSS.escape(look.account)}"]`);
      if (!item) {
        item = doc.createElement('label');
        item.className = 'pnl-key';
        const box = doc.createElement('input');
        box.type = 'checkbox';
        box.setAttribute('data-pnl-show', look.account);
        box.checked = look.options.visible;
        box.disabled = look.main;
        box.addEventListener('change', () => {
          if (box.checked) chosen.add(look.account); else chosen.delete(look.account);
          draw();
        });
        const swatch = doc.createElement('span');
        swatch.className = 'pnl-swatch';
        swatch.style.background = look.options.color;
        item.append(box, swatch, doc.createTextNode(look.main ? s.label : `${s.broker} ${s.account}`));
        item.title = s.label;
        legend.append(item);
      }
    }
    if (!legend.querySelector('[data-pnl-fit]')) {
      const again = doc.createElement('button');
      again.type = 'button';
      again.className = 'btn btn-quiet';
      again.setAttribute('data-pnl-fit', '');
      again.textContent = 'Fit the day';
      again.addEventListener('click', () => { fit.reset(); draw(); });
      legend.append(again);
    }
  }

  /** The newest samples of the main series, newest first, as the server rendered them;
   * the section shows once the main series has a point (it may come after the render). */
  function drawRecent() {
    const card = root.querySelector('[data-pnl-recent-card]');
    const body = root.querySelector('[data-pnl-recent] tbody');
    const main = answer.series[0];
    if (!card || !body || !main || !main.points.length) return;
    card.hidden = false;
    const label = card.querySelector('[data-pnl-recent-label]');
    if (label && label.textContent !== main.label) label.textContent = main.label;
    const rows = main.points.slice(-RECENT_ROWS).reverse().map((p) => {
      const tr = doc.createElement('tr');
      const when = doc.createElement('time');
      when.setAttribute('data-pnl-t', String(p.t));
      when.dateTime = new Date(p.t).toISOString();
      when.textContent = timeText(p.t);
      const td = (text, cls) => { const c = doc.createElement('td'); if (cls) c.className = cls; c.append(text); return c; };
      tr.append(td(when), td(money(p.net_liq, false), 'num'), td(money(p.day_pnl), 'num'));
      return tr;
    });
    body.replaceChildren(...rows);
  }

  /** Where the day's points come from (samples once the first is taken), as rendered. */
  function drawSource() {
    if (root.getAttribute('data-source') !== answer.source) root.setAttribute('data-source', answer.source);
    const text = root.querySelector('[data-pnl-source-text]');
    const words = sourceText(answer);
    if (text && text.textContent !== words) text.textContent = words;
  }

  function draw() {
    const looks = seriesLooks(answer.series, chosen);
    const datas = [];
    answer.series.forEach((s, i) => {
      const look = looks[i];
      let line = lines.get(s.account);
      if (!line) {
        const series = chart.addSeries(LineSeries, look.options);
        line = { series, markers: createSeriesMarkers(series, []) };
        lines.set(s.account, line);
      } else line.series.applyOptions(look.options);
      // the samples' grid is filled where a sample is missing; a broker's history is as it came
      const data = chartPoints(s.points, answer.source === 'samples' ? answer.interval : 0);
      datas.push(data);
      line.series.setData(data);
      line.markers.setMarkers(look.main ? statMarkers(s) : []);
      let row = root.querySelector(`[data-pnl-row="${CSS.escape(s.account)}"]`);
      const body = root.querySelector('.pnl-stats tbody');
      if (!row && body) row = addRow(body, s);
      if (row) {
        for (const [field, value] of Object.entries(statsText(s))) {
          const cell = row.querySelector(`[data-field="${field}"]`);
          if (cell && cell.textContent !== value) cell.textContent = value;
        }
      }
    });
    edges = chartEdges(datas);
    drawLegend(looks);
    drawRecent();
    drawSource();
    const zone = root.querySelector('[data-pnl-zone]');
    if (zone) zone.textContent = `${timeZone()} (${zoneLabel(answer.as_of || Date.now())})`;
    if (fit.shouldFit()) chart.timeScale().fitContent();
    root.setAttribute('data-points', String(answer.series.reduce((n, s) => n + s.points.length, 0)));
    planReport();
  }

  async function poll() {
    try {
      const r = await fetch(`/api/pnl?day=${encodeURIComponent(answer.day)}`, { credentials: 'same-origin' });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      answer = mergeAnswer(answer, await r.json());
      draw();
      status.textContent = `Updated ${timeText(Date.now())}`;
      root.setAttribute('data-polls', String(Number(root.getAttribute('data-polls') || 0) + 1));
    } catch (exc) {
      status.textContent = `Could not refresh (${exc.message}); trying again.`;
    }
  }

  // the trader's time zone: this browser's kept copy at once, then the server's (as every page)
  const prefs = createPreferences({
    user: root.getAttribute('data-user') || '',
    env: {
      fetch: (url, opts) => window.fetch(url, opts),
      storage: (() => { try { return window.localStorage; } catch (e) { return null; } })(),
      csrf: () => csrfToken(doc),
    },
    apply(p) {
      setTimeZone(p.time_zone);
      chart.applyOptions({}); // the axis formats anew
      draw();
    },
  });
  prefs.start();
  if (root.getAttribute('data-today') === 'true') {
    const every = Math.max(1, Number(answer.interval) || 60) * 1000;
    setInterval(poll, every);
  }
}

const root = document.getElementById('pnl-page');
const data = JSON.parse(document.getElementById('pnl-data').textContent);
if (root) createPnlPage(document, root, data);
