/*
 * Whether the server thins this socket's quotes, and the words the page says about it
 * (docs/streaming-contract.md, "Under load": the `quote_pace` frame). Pure: no DOM, no
 * clock. Tests: tests/js/quote-pace.test.mjs.
 */

const WHY = { server: 'server busy', connection: 'connection behind' };

/** The pace a `quote_pace` frame says ({intervalMs, cause}), or null: not thinned (its
 *  `cause` is null: back at the minimum) or a frame that says nothing readable. */
export function quotePaceOf(frame) {
  const ms = frame ? frame.interval_ms : undefined;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) return null;
  if (frame.cause === null || frame.cause === undefined) return null;
  return { intervalMs: ms, cause: String(frame.cause) };
}

/** "Quotes thinned to 1 per 0.6 s: server busy" ('' when not thinned): short, so the status
 *  bar stays two lines on a phone. */
export function thinnedWords(pace) {
  if (!pace) return '';
  const every = `Quotes thinned to 1 per ${Number((pace.intervalMs / 1000).toFixed(2))} s`;
  const why = Object.hasOwn(WHY, pace.cause) ? WHY[pace.cause] : null;
  return why ? `${every}: ${why}` : every;
}
