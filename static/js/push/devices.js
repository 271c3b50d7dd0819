/*
 * The devices page (templates/streaming/notification_devices.html): lists the user's
 * devices, subscribes this browser (a user gesture: the button), sends a test, removes one,
 * and turns the push and e-mail channels on or off. Rules in devices-model.js.
 */
import { deviceCells, permissionProblem, pushUnsupported } from './devices-model.js';

const $ = (sel) => document.querySelector(sel);
const csrf = () => (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || '';
const status = (text) => { $('[data-push-status]').textContent = text; };

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json', 'X-CSRFToken': csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : {};
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

async function drawDevices() {
  const { subscriptions } = await api('GET', '/api/push/subscriptions');
  const rows = subscriptions.map((d) => {
    const tr = document.createElement('tr');
    tr.dataset.device = String(d.id);
    for (const text of deviceCells(d, Date.now())) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    const actions = document.createElement('td');
    for (const [label, run] of [['Send a test', () => testDevice(d.id)], ['Remove', () => removeDevice(d.id)]]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn btn-quiet';
      b.textContent = label;
      b.dataset.action = label === 'Remove' ? 'remove' : 'test';
      b.addEventListener('click', run);
      actions.append(b, ' ');
    }
    tr.append(actions);
    return tr;
  });
  $('[data-push-list]').replaceChildren(...rows);
  // no device: the sentence saying so (and how to add one), not an empty table
  $('[data-push-empty]').hidden = rows.length > 0;
  $('[data-push-table]').hidden = rows.length === 0;
}

async function testDevice(id) {
  try {
    await api('POST', '/api/push/test', { id });
    status('A test push is on its way.');
  } catch (e) { status(e.message); }
}

async function removeDevice(id) {
  try {
    await api('DELETE', '/api/push/subscriptions', { id });
    status('Removed.');
    await drawDevices();
  } catch (e) { status(e.message); }
}

async function subscribeHere() {
  const problem = permissionProblem(await Notification.requestPermission());
  if (problem) { status(problem); return; }
  try {
    const registration = await navigator.serviceWorker.ready;
    const { public_key: key } = await api('GET', '/api/push/key');
    const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    await api('POST', '/api/push/subscriptions', subscription.toJSON());
    status('This device gets pushes now.');
    await drawDevices();
  } catch (e) { status(`Pushes could not be turned on here: ${e.message}`); }
}

/** The channel boxes come checked as saved, and disabled until here: a click is saved
 *  from now on, and a click the server refused is undone (the box shows what is saved). */
function enableChannels() {
  for (const box of document.querySelectorAll('[data-channel]')) {
    box.addEventListener('change', async () => {
      try { await api('PUT', '/api/notifications/settings', { [box.dataset.channel]: box.checked }); status('Saved.'); } catch (e) { box.checked = !box.checked; status(e.message); }
    });
    if (!box.hasAttribute('data-unavailable')) box.disabled = false;
  }
}

const why = pushUnsupported({
  serviceWorker: 'serviceWorker' in navigator, PushManager: 'PushManager' in window, Notification: 'Notification' in window,
  standalone: window.matchMedia('(display-mode: standalone)').matches, ios: /iPhone|iPad|iPod/.test(navigator.userAgent),
});
$('[data-push-support]').textContent = why || '';
$('[data-push-subscribe]').disabled = !!why;
$('[data-push-subscribe]').addEventListener('click', subscribeHere);
drawDevices().catch((e) => status(e.message));
enableChannels();
