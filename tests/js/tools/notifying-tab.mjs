/*
 * A tab as main.js runs one, for the notification tests: the page's snapshot is its
 * baseline (applied and seeded into the tracker), then every frame goes through the
 * reducer (static/js/stream/state.js) and notify.js's `deriveEvents`, collecting the events.
 */
import { applyFrame, applySnapshot, initialState } from '../../../static/js/stream/state.js';
import { createTracker, deriveEvents, seedTracker } from '../../../static/js/stream/notify.js';

/** `{events, feed(...frames), state}` of a tab that loaded `pageSnapshot`. */
export function notifyingTab(pageSnapshot) {
  let state = applySnapshot(initialState(), pageSnapshot, 'page');
  let tracker = seedTracker(createTracker(), pageSnapshot);
  const events = [];
  return {
    events,
    feed(...frames) {
      for (const f of frames) {
        const next = applyFrame(state, f);
        const r = deriveEvents(tracker, state, next, f);
        tracker = r.tracker;
        state = next;
        events.push(...r.events);
      }
      return this;
    },
    get state() { return state; },
  };
}
