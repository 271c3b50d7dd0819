/*
 * Every live page registers the service worker (static/js/push/sw.js at /sw.js): it shows
 * pushes when no page is open and the offline page when the server cannot be reached.
 */
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
}
