/*
 * The P&L page's data, pure (no DOM): new samples merged into what the page shows, the
 * chart's series (the total the main curve, the accounts thin and off until chosen), a
 * series as chart points (seconds, day P&L; a null value is no point, never 0), the
 * high/low/drawdown as markers at their times (the numbers are the stats table's), when
 * the chart fits its view to the day, and the words of the stats — times in the trader's
 * zone, named (stream/times.js's rule). The answer's shape: docs/streaming-contract.md
 * "P&L over the day".
 */
import { fmt } from '../../stream/format.js';
import { clock as zoneClock, zoneLabel as zoneName } from '../../stream/times.js';

/** Points by time, the fresh answer's winning: a poll after a restart brings the earlier
 * samples again (they are the database's) and the new ones; none is doubled. */
export function mergePoints(shown, fresh) {
  const byT = new Map();
  for (const p of shown || []) byT.set(p.t, p);
  for (const p of fresh || []) byT.set(p.t, p);
  return [...byT.values()].sort((a, b) => a.t - b.t);
}

/** A fresh answer merged into the one shown (same day): series by account. */
export function mergeAnswer(shown, fresh) {
  if (!shown || shown.day !== fresh.day) return fresh;
  const old = new Map((shown.series || []).map((s) => [s.account, s]));
  return {
    ...fresh,
    series: fresh.series.map((s) => ({ ...s, points: mergePoints(old.get(s.account)?.points, s.points) })),
  };
}

/** Most grid steps a curve is filled with (a day at 1 s is 86,400: past this, no filling). */
export const MAX_GRID_STEPS = 5000;

/**
 * lightweight-charts line data: time in seconds, ascending. A sample without a day P&L,
 * and every grid time without a sample (the server was down), is whitespace — a place on
 * the time axis without a value, never a point invented, never 0 — so the axis keeps time
 * (the library's axis is by index): an outage spans its real width, the line drawn
 * straight across it, not a one-step jump. `interval` (s): the sample grid; 0 = no filling.
 */
export function chartPoints(points, interval = 0) {
  const list = points || [];
  const out = [];
  const step = Math.round(interval);
  const span = list.length > 1 && step > 0 ? (list[list.length - 1].t - list[0].t) / 1000 / step : 0;
  const fill = span > 0 && span <= MAX_GRID_STEPS;
  let prev = null;
  for (const p of list) {
    const time = Math.floor(p.t / 1000);
    if (fill && prev !== null) for (let t = prev + step; t < time; t += step) out.push({ time: t });
    out.push(p.day_pnl === null || p.day_pnl === undefined ? { time } : { time, value: p.day_pnl });
    prev = time;
  }
  return out;
}

export const TOTAL_COLOR = '#f6f5f4';
const ACCOUNT_COLORS = ['#62a0ea', '#57e389', '#ffa348', '#c061cb', '#f66151', '#99c1f1', '#f8e45c'];

/**
 * How each series is drawn: the total (or a lone account) is the main curve — thick, its
 * last value on the axis, the markers; an account is a thin line with no axis label or
 * price line (six labels on the axis overlap), shown only when `chosen` has it (the
 * legend's checkboxes). Colours follow the answer's order, so a series keeps its colour.
 */
export function seriesLooks(series, chosen = new Set()) {
  const main = series.length === 1 ? series[0].account : '';
  let n = 0;
  return series.map((s) => {
    const isMain = s.account === main;
    const color = isMain ? TOTAL_COLOR : ACCOUNT_COLORS[n++ % ACCOUNT_COLORS.length];
    return {
      account: s.account,
      main: isMain,
      options: {
        color,
        lineWidth: isMain ? 3 : 1,
        visible: isMain || chosen.has(s.account),
        lastValueVisible: isMain,
        priceLineVisible: isMain,
        priceLineStyle: 2,
        crosshairMarkerVisible: isMain || chosen.has(s.account),
        title: '',
      },
    };
  });
}

/**
 * When the chart fits its view to the day's data: on load and at every draw, until the
 * trader zooms or scrolls the chart (their view is kept, new points or not); "Fit the
 * day" fits again and resumes fitting.
 */
export function createFitPolicy() {
  let userView = false;
  return {
    shouldFit: () => !userView,
    interacted() { userView = true; },
    reset() { userView = false; },
  };
}

/** What the chart shows of a series, for the page's `data-view` (tests, and a check that
 * the view covers the day): the visible time range against the first and last point, the
 * share of the plot's width between the first and last point's x, and the geometry a
 * fitted view is judged by (`geometry`, each null when unknown): `left`, px from the plot's
 * left edge to the chart's first bar (`leftX`); `right`, px from its last bar (`rightX`) to
 * the plot's right edge — the chart's bars are every series' times, a sample without a
 * value included, so they may reach beyond the series' points — the bar spacing `bar`, the
 * plot's `width`, and `box` (the chart container's width when this was measured: a report
 * from before a resize is told from one after it). */
export function viewReport(range, first, last, firstX, lastX, width, geometry = {}) {
  const { leftX = null, rightX = null, bar = null, box = null } = geometry;
  return {
    from: range ? range.from : null,
    to: range ? range.to : null,
    first,
    last,
    span: width > 0 && firstX !== null && lastX !== null ? (lastX - firstX) / width : 0,
    left: leftX,
    right: rightX === null ? null : width - rightX,
    bar,
    width,
    box,
  };
}

/** The first and last time (s) of a chart's data, every series' points together (a
 * point without a value included: it is a bar of the time axis too); nulls when none. */
export function chartEdges(datas) {
  let first = null;
  let last = null;
  for (const data of datas) {
    if (!data.length) continue;
    if (first === null || data[0].time < first) first = data[0].time;
    if (last === null || data[data.length - 1].time > last) last = data[data.length - 1].time;
  }
  return { first, last };
}

/** The words of the page's source line for an answer (the server renders the same). */
export function sourceText(answer) {
  if (answer.source === 'samples') return `Sampled from your live stream every ${Number(answer.interval)} s.`;
  return answer.reason || '';
}

/** HH:MM:SS in the zone shown (times.js), unlabelled: the axis, and time ranges. */
export const clock = zoneClock;

/** A time as every page shows it: the trader's zone, named ("09:30:05 EST"); "—" for none. */
export function timeText(ms) {
  if (ms === null || ms === undefined) return '—';
  return fmt.time(ms);
}

/** The zone's name at `ms` ("EST"), as fmt.time writes it. */
export const zoneLabel = zoneName;

/** Money with a sign where it is a P&L; null is "—". */
export function money(value, signed = true) {
  if (value === null || value === undefined) return '—';
  const text = Math.abs(value).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  if (!signed) return (value < 0 ? '-' : '') + text;
  return value > 0 ? `+${text}` : value < 0 ? `-${text}` : text;
}

/** The markers of a series' stats, on the curve at their times: high (above), low
 * (below), the drawdown's peak and trough. Short words: the numbers are in the table. */
export function statMarkers(series) {
  const marks = [];
  const at = (t) => Math.floor(t / 1000);
  if (series.high) marks.push({ time: at(series.high.t), position: 'aboveBar', shape: 'arrowDown', color: '#57e389', text: 'High', size: 0.6 });
  if (series.low) marks.push({ time: at(series.low.t), position: 'belowBar', shape: 'arrowUp', color: '#f66151', text: 'Low', size: 0.6 });
  const dd = series.max_drawdown;
  if (dd && dd.value > 0) {
    marks.push({ time: at(dd.peak_t), position: 'aboveBar', shape: 'circle', color: '#f5c211', text: 'DD peak', size: 0.6 });
    marks.push({ time: at(dd.trough_t), position: 'belowBar', shape: 'circle', color: '#f5c211', text: 'DD trough', size: 0.6 });
  }
  // the library wants markers in time order
  return marks.sort((a, b) => a.time - b.time);
}

/** The stats row of a series as the table shows it (the cells' `data-field`s; the
 * server renders the same fields): a value, and under it its time. */
export function statsText(series) {
  const last = (series.points || [])[series.points.length - 1] || null;
  const dd = series.max_drawdown;
  return {
    net_liq: money(last ? last.net_liq : null, false),
    day_pnl: money(last ? last.day_pnl : null),
    high: series.high ? money(series.high.value) : '—',
    high_at: series.high ? timeText(series.high.t) : '',
    low: series.low ? money(series.low.value) : '—',
    low_at: series.low ? timeText(series.low.t) : '',
    drawdown: dd ? money(dd.value, false) : '—',
    drawdown_at: dd && dd.value > 0 ? `${clock(dd.peak_t)} → ${timeText(dd.trough_t)}` : '',
    points: String((series.points || []).length),
  };
}
