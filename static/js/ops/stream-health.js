// The staff's stream-health view: renders the data embedded in the page, then polls
// the staff-only JSON endpoint every `data-poll-ms` (the owners rewrite their reports
// every 2 s and on each state change, so a faster push would show nothing newer).
// Strings from the server go in as text, never as HTML.

const root = document.getElementById("stream-health");
const body = document.getElementById("ops-body");
const empty = document.getElementById("ops-empty");
const errorBox = document.getElementById("ops-error");
const updated = document.getElementById("ops-updated");
const filter = document.getElementById("failing-only");
const pollMs = Number(root.dataset.pollMs) || 2000;
const KINDS = ["quotes", "account"];

let lastOk = Date.now();
let inFlight = false;

export function age(ms) {
  if (ms === null || ms === undefined) return "—";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, String(value));
    else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function stateSpan(state, reason) {
  return el("span", { class: "st", "data-state": state, title: reason || "" }, state);
}

function ago(now, at) {
  return at ? `${age(now - at)} ago` : "never";
}

function kindCell(now, name, kind) {
  if (!kind) return el("td", {}, "—");
  return el(
    "td",
    { class: "ops-kind", "data-kind": name, "data-state": kind.state },
    stateSpan(kind.state, kind.reason),
    el("small", {}, `since ${ago(now, kind.since)}`),
    kind.reason ? el("small", { class: "ops-reason" }, kind.reason) : null,
    el("small", {}, `${kind.reconnects} reconnects`),
  );
}

function tokenCell(now, link) {
  if (!link.token_expires_at) return el("td", {}, "—");
  const left = link.token_expires_at - now;
  const text = left >= 0 ? `in ${age(left)}` : `${age(-left)} ago`;
  return el("td", { class: "ops-token", title: new Date(link.token_expires_at).toISOString() }, text);
}

function lastErrorCell(now, link) {
  const errors = KINDS.map((name) => [name, link.kinds[name]])
    .filter(([, k]) => k && k.last_error)
    .sort((a, b) => b[1].last_error_at - a[1].last_error_at);
  if (!errors.length) return el("td", { class: "ops-err ops-none" }, "—");
  const [name, kind] = errors[0];
  return el(
    "td",
    { class: "ops-err" },
    `${name}: ${kind.last_error}`,
    el("small", {}, ago(now, kind.last_error_at)),
  );
}

function userRow(now, user) {
  const owner = user.owner
    ? el("span", { class: "ops-meta ops-owner", "data-pid": user.owner.pid },
        `owner ${user.owner.host} pid ${user.owner.pid}`)
    : el("span", { class: "ops-meta ops-owner error" }, user.problem);
  const tabs = user.tabs.map((p) =>
    el("span", { class: "ops-meta ops-tabs", "data-pid": p.pid, "data-tabs": p.tabs },
      `${p.host} pid ${p.pid}: ${p.tabs} tab${p.tabs === 1 ? "" : "s"}`));
  const head = user.epoch
    ? el("span", { class: "ops-meta ops-head-pos" }, `event log ${user.epoch}:${user.seq}`)
    : null;
  const last = el("span", { class: "ops-meta" }, `last event ${ago(now, user.last_event_at)}`);
  return el(
    "tr",
    { class: "ops-user", "data-user": user.id, "data-failing": user.failing },
    el("td", { colSpan: 8 },
      el("strong", {}, el("a", { href: user.admin_url }, user.username)),
      owner, ...tabs, head, last),
  );
}

function linkRow(now, link) {
  return el(
    "tr",
    { class: "ops-link", "data-link": link.id, "data-state": link.state, "data-failing": link.failing },
    el("td", {},
      el("a", { href: link.admin_url, class: "ops-admin" }, link.label),
      el("small", {}, `${link.broker}${link.quote_source ? " · quote source" : ""}${link.delayed ? " · delayed" : ""}`)),
    el("td", {}, stateSpan(link.state, link.reason)),
    kindCell(now, "quotes", link.kinds.quotes),
    kindCell(now, "account", link.kinds.account),
    el("td", { class: "ops-reconnects" }, String(link.reconnects)),
    lastErrorCell(now, link),
    el("td", { class: "ops-last-data" }, ago(now, link.last_data_at)),
    tokenCell(now, link),
  );
}

export function render(data) {
  const rows = [];
  for (const user of data.users) {
    rows.push(userRow(data.now, user));
    for (const link of user.links) rows.push(linkRow(data.now, link));
  }
  body.replaceChildren(...rows);
  empty.hidden = data.users.length > 0;
  root.dataset.users = String(data.users.length);
}

function failingOnly() {
  return filter.checked;
}

async function poll() {
  if (inFlight) return;
  inFlight = true;
  const url = `${root.dataset.jsonUrl}${failingOnly() ? "?failing=1" : ""}`;
  try {
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (response.status === 401) {
      window.location.assign(`${root.dataset.loginUrl}?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error || `HTTP ${response.status}`);
    }
    const data = await response.json();
    if (data.failing_only !== failingOnly()) return; // the filter changed meanwhile
    render(data);
    lastOk = Date.now();
    errorBox.hidden = true;
    updated.dataset.state = "live";
    updated.textContent = "updated now";
    root.dataset.updates = String(Number(root.dataset.updates || 0) + 1);
  } catch (err) {
    errorBox.hidden = false;
    errorBox.textContent = `Could not refresh: ${err.message}`;
    updated.dataset.state = "failed";
  } finally {
    inFlight = false;
  }
}

function tick() {
  const late = Date.now() - lastOk;
  if (late > 2.5 * pollMs && updated.dataset.state === "live") updated.dataset.state = "late";
  if (updated.dataset.state !== "live") updated.textContent = `updated ${age(late)} ago`;
}

filter.addEventListener("change", () => {
  const url = new URL(location.href);
  if (failingOnly()) url.searchParams.set("failing", "1");
  else url.searchParams.delete("failing");
  history.replaceState(null, "", url);
  inFlight = false;
  poll();
});

render(JSON.parse(document.getElementById("stream-health-data").textContent));
setInterval(poll, pollMs);
setInterval(tick, 1000);
