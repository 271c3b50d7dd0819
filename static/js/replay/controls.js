/*
 * A replay page's pure parts (docs/streaming-contract.md, "Replay page"): where the
 * replayed day stands (its `replay` frames), its time in words, and the commands the
 * controls send. No DOM, no socket: tests/js/replay-page.test.mjs.
 */

export const SPEEDS = ['1', '10', '60'];
const ZONE = 'America/New_York';

/**
 * The replayed time, from the server's `replay` frames: the time a frame said, moved on
 * at the day's speed while it plays (between two frames, 250 ms apart).
 */
export function createReplayClock() {
  let at = null; // replayed epoch ms the last frame said
  let saidAt = 0; // wall ms it was said
  let state = 'opening';
  let speed = '1';
  let first = null;
  let last = null;
  return {
    /** A `replay` frame (status) or any frame's `replay` tag (its replayed time). */
    heard(frame, wallMs) {
      if (!frame || typeof frame !== 'object') return;
      if (frame.type === 'replay') {
        if (typeof frame.state === 'string') state = frame.state;
        if (SPEEDS.includes(String(frame.speed))) speed = String(frame.speed);
        if (Number.isFinite(frame.first)) first = frame.first;
        if (Number.isFinite(frame.last)) last = frame.last;
      }
      if (Number.isFinite(frame.replay) && (at === null || frame.type === 'replay' || frame.replay > this.now(wallMs))) {
        at = frame.replay;
        saidAt = wallMs;
      }
    },
    /** The replayed time at wall time `wallMs` (null before the first frame). */
    now(wallMs) {
      if (at === null) return null;
      const moving = state === 'playing' ? (wallMs - saidAt) * Number(speed) : 0;
      const t = at + Math.max(0, Math.min(moving, 1000 * Number(speed)));
      return last !== null ? Math.min(t, last) : t;
    },
    view: () => ({ state, speed, first, last }),
  };
}

/** `ms` as a time of day in New York, HH:MM:SS (a replay's times are New York's). */
export function timeText(ms) {
  if (!Number.isFinite(ms)) return '—';
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  }).format(new Date(ms));
}

/** Minutes since midnight of `ms` in New York. */
function wallMinutes(ms) {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  }).formatToParts(new Date(ms));
  const n = (type) => Number(parts.find((p) => p.type === type).value);
  return (n('hour') % 24) * 60 + n('minute') + n('second') / 60;
}

/**
 * The epoch ms of `hhmm` (New York) on the day that starts at `first`, or a sentence
 * why not: not a time, or outside the recorded day [`first`, `last`]. The day's offset
 * from UTC is `first`'s (a day's records do not span a clock change: it comes at 2:00 on
 * a Sunday).
 */
export function jumpTarget(hhmm, first, last) {
  const m = /^(\d{1,2}):(\d{2})$/.exec(String(hhmm || '').trim());
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) return { error: `${String(hhmm).slice(0, 10) || 'Nothing'} is not a time of day (HH:MM).` };
  const target = Math.round(first + ((Number(m[1]) * 60 + Number(m[2])) - wallMinutes(first)) * 60000);
  if (target < first || target > last) {
    return { error: `The day was recorded from ${timeText(first)} to ${timeText(last)} New York; ${m[1].padStart(2, '0')}:${m[2]} is outside it.` };
  }
  return { at: target };
}

/** The commands the controls send over the page's socket. */
export const commands = {
  play: () => ({ op: 'play' }),
  pause: () => ({ op: 'pause' }),
  speed: (speed) => ({ op: 'speed', speed: String(speed) }),
  seek: (at) => ({ op: 'seek', at: Math.round(at) }),
  alert: (symbol, condition, level) => ({
    op: 'alert', symbol: String(symbol || '').trim().toUpperCase(), condition: String(condition || ''), level: String(level || '').trim(),
  }),
};

/** A fired replay alert as the banner lists it: when it would have fired, and what. */
export function firedText(alert) {
  return `REPLAY alert at ${timeText(alert.at)} New York: ${alert.message}`;
}

/** The banner's words for the day's state. */
export function stateText(state, speed) {
  switch (state) {
    case 'playing': return `playing at ${speed}×`;
    case 'paused': return 'paused';
    case 'seeking': return 'finding the time…';
    case 'ended': return 'the day is over';
    case 'closed': return 'not connected';
    default: return 'opening';
  }
}
