/*
 * Every time a trader reads, as pure functions (docs/streaming-contract.md "Times: one named
 * zone"): in ONE zone — the trader's choice in Display settings, New York's (the market's
 * clock) until they choose another; never the browser's own — and named: the US zones by
 * their abbreviations as Intl names them (EST/EDT for New York), any other by its offset at
 * that instant ("14:02:11 GMT+1", "GMT+5:30"), UTC as UTC. The lists, the orders
 * panel, P&L, the charts' axes and crosshair, "Trading is on until …" and the stale notes
 * all write their times here. The server writes its times by the same rule
 * (accounts/times.py; tests/streaming/test_times_agree.py compares the two).
 *
 * The zone a page starts with is the one the server rendered it with (<html
 * data-time-zone>), so the first paint and the script agree; a live page adopts a changed
 * preference through setTimeZone.
 */

/** The market's clock: every time's zone until the trader chooses another. */
export const MARKET_ZONE = 'America/New_York';

/** The zones named by an abbreviation (minutes east of UTC -> the name); accounts/times.py
 *  holds the same table. */
const EASTERN = { '-300': 'EST', '-240': 'EDT' };
const CENTRAL = { '-360': 'CST', '-300': 'CDT' };
const MOUNTAIN = { '-420': 'MST', '-360': 'MDT' };
const PACIFIC = { '-480': 'PST', '-420': 'PDT' };
const ALASKA = { '-540': 'AKST', '-480': 'AKDT' };
const HAWAII = { '-600': 'HST' };
const NAMED_ZONES = {
  'America/New_York': EASTERN, 'US/Eastern': EASTERN,
  'America/Chicago': CENTRAL, 'US/Central': CENTRAL,
  'America/Denver': MOUNTAIN, 'US/Mountain': MOUNTAIN,
  'America/Phoenix': { '-420': 'MST' }, 'US/Arizona': { '-420': 'MST' },
  'America/Los_Angeles': PACIFIC, 'US/Pacific': PACIFIC,
  'America/Anchorage': ALASKA, 'US/Alaska': ALASKA,
  'Pacific/Honolulu': HAWAII, 'US/Hawaii': HAWAII,
};
/** The zones named UTC (no offset, no other name). */
const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'Etc/UCT', 'Etc/Universal', 'Etc/Zulu', 'UCT', 'Universal', 'Zulu']);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** `name` if Intl knows it as a time zone, else the market's. */
function known(name) {
  if (!name || typeof name !== 'string') return MARKET_ZONE;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return name;
  } catch (e) {
    return MARKET_ZONE;
  }
}

const rendered = typeof document !== 'undefined' && document.documentElement
  ? document.documentElement.getAttribute('data-time-zone') : null;
let zone = known(rendered);

/** Show times in `name` (an IANA time zone; '' or an unknown one: New York's). */
export function setTimeZone(name) {
  zone = known(name);
}

/** The zone times are shown in now (an IANA name). */
export function timeZone() {
  return zone;
}

const partsFormats = new Map(); // zone -> Intl.DateTimeFormat giving every part
function partsFormat(z) {
  let f = partsFormats.get(z);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: z, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      weekday: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    partsFormats.set(z, f);
  }
  return f;
}

const pad = (n) => String(n).padStart(2, '0');

/** A zone's name at an offset (minutes east of UTC): its abbreviation, UTC, else the offset. */
function nameOf(z, minutes) {
  const named = NAMED_ZONES[z] && NAMED_ZONES[z][String(minutes)];
  if (named) return named;
  if (minutes === 0) return UTC_NAMES.has(z) ? 'UTC' : 'GMT';
  const abs = Math.abs(minutes);
  const rest = abs % 60;
  return `GMT${minutes > 0 ? '+' : '-'}${Math.floor(abs / 60)}${rest ? `:${pad(rest)}` : ''}`;
}

/** The wall time of `ms` in the zone shown (or `z`): {year, month (1-12), day, weekday
 *  (0 = Sunday), hour, minute, second, label (the zone's name then)}. */
export function wallParts(ms, z = zone) {
  const p = {};
  for (const { type, value } of partsFormat(z).formatToParts(new Date(ms))) p[type] = value;
  const w = {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    weekday: WEEKDAYS.indexOf(p.weekday),
    hour: Number(p.hour) % 24,
    minute: Number(p.minute),
    second: Number(p.second),
  };
  const wall = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  w.offset = wall - Math.floor(ms / 1000) * 1000;
  w.label = nameOf(z, Math.round(w.offset / 60000));
  return w;
}

/** The zone's name at `ms` ("EST", "EDT", "GMT+1"). */
export function zoneLabel(ms) {
  return wallParts(ms).label;
}

/** "14:02:11", unlabelled (an axis, the start of a range). */
export function clock(ms) {
  const w = wallParts(ms);
  return `${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
}

/** "14:02", unlabelled (a chart's axis). */
export function hhmm(ms) {
  const w = wallParts(ms);
  return `${pad(w.hour)}:${pad(w.minute)}`;
}

/** "Nov 25": the date of `ms` in the zone shown. */
export function dayLabel(ms) {
  const w = wallParts(ms);
  return `${MONTHS[w.month - 1]} ${w.day}`;
}

/**
 * Epoch ms as text in the zone shown, named: `time` "14:02:11 EST", `hm` "14:02 EST",
 * `day` "Mar 3, 14:02:11 EST", `day-hm` "Mar 3, 14:02 EST", `full` "Mar 3, 2026, 14:02:11
 * EST", `full-hm` "Mar 3, 2026, 14:02 EST", `stamp` "Wed Nov 25, 14:05 EST".
 */
export function zoned(ms, kind) {
  const w = wallParts(ms);
  const hm = `${pad(w.hour)}:${pad(w.minute)}`;
  const hms = `${hm}:${pad(w.second)}`;
  const date = `${MONTHS[w.month - 1]} ${w.day}`;
  const text = {
    time: hms,
    hm,
    day: `${date}, ${hms}`,
    'day-hm': `${date}, ${hm}`,
    full: `${date}, ${w.year}, ${hms}`,
    'full-hm': `${date}, ${w.year}, ${hm}`,
    stamp: `${WEEKDAYS[w.weekday]} ${date}, ${hm}`,
  }[kind];
  return `${text} ${w.label}`;
}

/** Whether two epoch ms fall on the same calendar day in the zone shown. */
export function sameDay(a, b) {
  const x = wallParts(a);
  const y = wallParts(b);
  return x.year === y.year && x.month === y.month && x.day === y.day;
}

/** The zone's offset from UTC (ms, e.g. -5 h for New York in winter) at the moment `ms`. */
export function zoneOffset(ms, z = zone) {
  return wallParts(ms, z).offset;
}

/**
 * A wall time typed in the zone shown (`YYYY-MM-DDTHH:MM`, a `datetime-local` value) as
 * epoch ms, or null when it is not one. In the hour summer time skips, the time an hour
 * on; in the hour that repeats, the first.
 */
export function fromWallTime(text) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?$/.exec(String(text || ''));
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v || 0));
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  if (Number.isNaN(wall) || new Date(wall).getUTCDate() !== d) return null;
  const early = wall - zoneOffset(wall - 86400000);
  const late = wall - zoneOffset(wall + 86400000);
  const fits = (ms) => ms + zoneOffset(ms) === wall;
  if (fits(Math.min(early, late))) return Math.min(early, late);
  if (fits(Math.max(early, late))) return Math.max(early, late);
  return Math.max(early, late); // skipped: the wall time after the jump
}

/** Epoch ms as a `datetime-local` value in the zone shown (`YYYY-MM-DDTHH:MM`). */
export function toWallTime(ms) {
  const w = wallParts(ms);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}
