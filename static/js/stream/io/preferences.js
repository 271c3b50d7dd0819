/*
 * The trader's display preferences (docs/streaming-contract.md "Display preferences"):
 * flashes on or off, the time zone, each table's sort. Kept on the server per user
 * (`GET/PUT /api/preferences`), so they follow the trader to every browser; this browser
 * keeps a copy (localStorage, per user) to apply them before the server answers, then
 * adopts the server's. A page rendered by the server carries the user's preferences as
 * they were then (`initial`): those apply first, so a fresh browser never shows the
 * defaults (e.g. flashes the trader turned off) while the answer is on its way.
 * `apply(prefs)` is called with every version.
 *
 * env: {fetch, storage (localStorage or null), csrf()}.
 */

export const DEFAULT_PREFERENCES = Object.freeze({ flashes: true, time_zone: 'America/New_York', sorts: {} });

/** A stored or answered object as preferences (unknown keys dropped, bad types defaulted). */
export function cleanPreferences(raw) {
  const p = raw && typeof raw === 'object' ? raw : {};
  return {
    flashes: typeof p.flashes === 'boolean' ? p.flashes : DEFAULT_PREFERENCES.flashes,
    time_zone: typeof p.time_zone === 'string' ? p.time_zone : DEFAULT_PREFERENCES.time_zone,
    sorts: p.sorts && typeof p.sorts === 'object' && !Array.isArray(p.sorts) ? { ...p.sorts } : {},
  };
}

export function createPreferences({ user, url = '/api/preferences', env, apply, initial = null }) {
  const key = `streamdesk.preferences.${user || ''}`;
  let prefs = DEFAULT_PREFERENCES;
  /** The changes sent so far, in order (each waits for the one before it), and the newest's number. */
  let saving = Promise.resolve();
  let newest = 0;

  function adopt(raw, store) {
    prefs = cleanPreferences(raw);
    if (store && env.storage) {
      try { env.storage.setItem(key, JSON.stringify(prefs)); } catch (e) { /* full or off: the server has them */ }
    }
    apply(prefs);
  }

  return {
    /** The copy this browser kept (at once), then the server's (unless the trader changed
     *  something meanwhile: that change's answer is newer). */
    async start() {
      let cached = null;
      try { cached = env.storage ? JSON.parse(env.storage.getItem(key) || 'null') : null; } catch (e) { cached = null; }
      if (initial && typeof initial === 'object') adopt(initial, true); // as rendered
      else adopt(cached, false);
      if (!user) return prefs;
      const changesBefore = newest;
      try {
        const r = await env.fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
        const answer = r.ok ? await r.json() : null;
        // a change made meanwhile is newer than this read: its own answer wins
        if (answer && newest === changesBefore) adopt(answer, true);
      } catch (e) { /* offline: the kept copy stays */ }
      return prefs;
    },
    get: () => prefs,
    /** Change some preferences: applied at once, then stored on the server; its answer wins.
     *  Changes go to the server one after the other (two in flight could land in either
     *  order, and a quick second click be undone), and only the newest change's answer is
     *  adopted: an older one would take back what the trader has just done.
     *  Returns the error sentence of a refusal, or ''. */
    async save(changes) {
      const before = prefs;
      const mine = ++newest;
      const optimistic = { ...prefs, ...changes, sorts: { ...prefs.sorts, ...(changes.sorts || {}) } };
      for (const [table, sort] of Object.entries(changes.sorts || {})) if (sort === null) delete optimistic.sorts[table];
      adopt(optimistic, true);
      const sent = saving.then(() => env.fetch(url, {
        method: 'PUT',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': env.csrf() },
        body: JSON.stringify(changes),
      }));
      saving = sent.catch(() => {}); // the next change goes once this one is answered
      try {
        const r = await sent;
        const answer = await r.json().catch(() => ({}));
        if (!r.ok) {
          if (mine === newest) adopt(before, true); // refused: back to what the server holds
          return answer.error || `HTTP ${r.status}`;
        }
        if (mine === newest) adopt(answer, true);
        return '';
      } catch (e) {
        return 'the server could not be reached; kept in this browser only';
      }
    },
  };
}
