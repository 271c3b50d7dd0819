/*
 * What a trader should do about a broker link in `error` (docs/streaming-contract.md,
 * "link status": `error` needs an operator, e.g. a rejected credential), in one sentence,
 * and when streamdesk tries the link again by itself. Pure: no DOM, the clock is a
 * parameter. The server-rendered page says the same (accounts/link_advice.py); both are
 * held to tests/fixtures/link-advice.json.
 */

/** How each broker is named in a sentence. */
const BROKER_NAMES = { tastytrade: 'tastytrade', tradier: 'Tradier', alpaca: 'Alpaca' };
/** The kinds in the order their error is looked at (the account kind holds the login). */
const KINDS = ['account', 'quotes'];
/** A retry due within this long (or overdue) is "any moment now" (ms). */
const IMMINENT_MS = 1000;

const finite = (v) => typeof v === 'number' && Number.isFinite(v);
/** The announced wait before the next try (seconds), or null if none (or nonsense). */
const waitOf = (link) => (finite(link.retry_in) && link.retry_in >= 0 ? link.retry_in : null);

/** "40 s", "4 min", "2 h" (rounded up: never promises a retry sooner than it is). */
export function waitText(ms) {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.ceil(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.ceil(min / 60)} h`;
}

/** The kind whose `error` the link shows (its `since` dates the retry), or null. */
function errorKind(link) {
  const kinds = link.kinds && typeof link.kinds === 'object' ? link.kinds : {};
  for (const name of KINDS) {
    const kind = kinds[name];
    if (kind && kind.state === 'error') return kind;
  }
  return null;
}

/** When the link is tried again, as a sentence ('' when unknown or no clock given). */
function retrySentence(link, now) {
  const wait = waitOf(link);
  if (!finite(now) || wait === null) return '';
  const kind = errorKind(link);
  const since = kind && finite(kind.since) ? kind.since : link.since;
  if (!finite(since)) return '';
  const left = since + wait * 1000 - now;
  if (left <= IMMINENT_MS) return 'streamdesk tries it again any moment now.';
  return `streamdesk tries it again by itself in about ${waitText(left)}.`;
}

/**
 * One sentence for a link status object in `error`; '' for any other state (or no link).
 * `now` (epoch ms, the server's clock as the page knows it) adds when the next automatic
 * try is; without it the sentence says only that streamdesk keeps trying.
 */
export function linkAdvice(link, now) {
  if (!link || typeof link !== 'object' || link.state !== 'error') return '';
  const broker = BROKER_NAMES[link.broker] || 'The broker';
  const label = typeof link.label === 'string' && link.label.trim() ? ` for “${link.label.trim()}”` : '';
  const kind = errorKind(link);
  const reason = String((kind && kind.reason) || link.reason || '');
  const what = /\brejected\b/i.test(reason)
    ? `${broker} rejected the saved credential${label}: ask your operator to link the account again in the admin (Broker links).`
    : `${broker} cannot be used${label} until your operator checks the link in the admin (Broker links).`;
  const retry = retrySentence(link, now) || (waitOf(link) !== null ? 'streamdesk keeps trying it by itself.' : '');
  return retry ? `${what} ${retry}` : what;
}
