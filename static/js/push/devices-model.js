/*
 * The devices page's rules, pure (docs/streaming-contract.md "Push and e-mail"): whether
 * this browser can take pushes (and why not, in words), a device's row, and the
 * subscription a browser hands over. No DOM.
 */

/** Why this browser cannot take pushes (null: it can). `env`: {serviceWorker, PushManager,
 *  Notification, standalone, ios} as the page finds them. */
export function pushUnsupported(env) {
  if (env.ios && !env.standalone) {
    return 'On an iPhone or iPad, pushes need streamdesk on the Home Screen: Share → Add to Home Screen, then open it from there.';
  }
  if (!env.serviceWorker || !env.PushManager || !env.Notification) {
    return 'This browser does not take Web Push.';
  }
  return null;
}

/** A time in words, from epoch ms (null: never). */
export function when(ms, now) {
  if (ms === null || ms === undefined) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A device's row: [push service, added, last push, problem]. */
export function deviceCells(device, now) {
  return [String(device.host || ''), when(device.created_at, now), when(device.last_sent_at, now), device.last_error || ''];
}

/** What a permission answer means for the trader (null: granted). */
export function permissionProblem(permission) {
  if (permission === 'granted') return null;
  if (permission === 'denied') return 'Notifications are blocked for streamdesk in this browser: allow them in its site settings.';
  return 'Pushes need your permission: press the button again and allow notifications.';
}
