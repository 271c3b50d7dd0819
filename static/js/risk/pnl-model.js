/*
 * The P&L page's data, pure (no DOM): new samples merged into what the page shows, a
 * series as chart points (seconds, day P&L; a null value is no point, never 0), the
 * high/low/drawdown as chart markers with their times, and the words of the stats.
 * The answer's shape: docs/streaming-contract.md "P&L over the day".
 */

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

/** lightweight-charts line data: time in seconds, ascending, nulls left out. */
export function chartPoints(points) {
  return (points || []).filter((p) => p.day_pnl !== null && p.day_pnl !== undefined)
    .map((p) => ({ time: Math.floor(p.t / 1000), value: p.day_pnl }));
}

/** A time as the page shows it: HH:MM:SS UTC. */
export function timeText(ms) {
  if (ms === null || ms === undefined) return '—';
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

/** Money with a sign where it is a P&L; null is "—". */
export function money(value, signed = true) {
  if (value === null || value === undefined) return '—';
  const text = Math.abs(value).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  if (!signed) return (value < 0 ? '-' : '') + text;
  return value > 0 ? `+${text}` : value < 0 ? `-${text}` : text;
}

/** The markers of a series' stats: high (above), low (below), the drawdown's peak and trough. */
export function statMarkers(series) {
  const marks = [];
  const at = (t) => Math.floor(t / 1000);
  if (series.high) marks.push({ time: at(series.high.t), position: 'aboveBar', shape: 'arrowDown', color: '#26a269', text: `High ${money(series.high.value)}` });
  if (series.low) marks.push({ time: at(series.low.t), position: 'belowBar', shape: 'arrowUp', color: '#e01b24', text: `Low ${money(series.low.value)}` });
  const dd = series.max_drawdown;
  if (dd && dd.value > 0) {
    marks.push({ time: at(dd.peak_t), position: 'aboveBar', shape: 'circle', color: '#f5c211', text: 'DD peak' });
    marks.push({ time: at(dd.trough_t), position: 'belowBar', shape: 'circle', color: '#f5c211', text: `DD -${money(dd.value, false)}` });
  }
  // the library wants markers in time order
  return marks.sort((a, b) => a.time - b.time);
}

/** The stats row of a series as the table shows it (the same words the server renders). */
export function statsText(series) {
  const last = (series.points || [])[series.points.length - 1] || null;
  const dd = series.max_drawdown;
  return {
    net_liq: money(last ? last.net_liq : null, false),
    day_pnl: money(last ? last.day_pnl : null),
    high: series.high ? `${money(series.high.value)} at ${timeText(series.high.t)}` : '—',
    low: series.low ? `${money(series.low.value)} at ${timeText(series.low.t)}` : '—',
    drawdown: dd ? `${money(dd.value, false)} (${timeText(dd.peak_t)} → ${timeText(dd.trough_t)})` : '—',
    points: String((series.points || []).length),
  };
}
