// Reports made without a signal: kept on the phone, sent when the signal returns.
//
// A report form marked `data-outbox` (static/js/issue-form.js) hands a report made
// offline to `YishiOutbox.keep`: its text fields, its photos as Blobs and its
// one-time submission key go into IndexedDB ("yishi-outbox"), which outlives a reload
// and a closed browser. The queue is sent when the connection returns: on the page's
// `online` event, by the service worker's Background Sync where the browser has it
// (templates/sw.js loads this file too), and on the next visit to any page. Each
// report is posted with its submission key, so the server creates one matter however
// often it is sent (a lost answer, a page and the worker sending at once); a lock
// keeps the page and the worker from sending side by side.
//
// The same file runs in a page and in the service worker: the part that draws the
// member's messages runs only where there is a document. Texts come from the
// `data-msg-*` attributes of <div data-outbox-status> (templates/base.html).
(() => {
  "use strict";

  const scope = typeof self !== "undefined" ? self : window;
  const DB_NAME = "yishi-outbox";
  const DB_STORE = "reports";
  const SYNC_TAG = "yishi-outbox";
  const LOCK = "yishi-outbox";
  const OWNER_HEADER = "X-Yishi-Outbox";
  // States of a report on the phone: waiting to go; sent (its photos dropped, kept
  // until a page has said so); refused by the form's checks; waiting for a login.
  const QUEUED = "queued";
  const SENT = "sent";
  const REFUSED = "refused";
  const LOGIN = "login";
  const WAITING = new Set([QUEUED, LOGIN]);
  const PROBE_MS = 6000;
  const RETRY_MS = 30 * 1000;

  // --- IndexedDB -----------------------------------------------------------------------

  let database = null;

  function openDatabase() {
    if (!database) {
      database = new Promise((resolve, reject) => {
        if (!scope.indexedDB) {
          reject(new Error("no IndexedDB"));
          return;
        }
        const request = scope.indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => request.result.createObjectStore(DB_STORE, { keyPath: "key" });
        request.onsuccess = () => {
          const db = request.result;
          db.onversionchange = () => {
            db.close();
            database = null;
          };
          resolve(db);
        };
        request.onerror = () => reject(request.error);
        request.onblocked = () => reject(new Error("IndexedDB blocked"));
      });
      database.catch(() => {
        database = null;
      });
    }
    return database;
  }

  function withStore(mode, operation) {
    return openDatabase().then(
      (db) =>
        new Promise((resolve, reject) => {
          const transaction = db.transaction(DB_STORE, mode);
          const request = operation(transaction.objectStore(DB_STORE));
          transaction.oncomplete = () => resolve(request ? request.result : undefined);
          transaction.onerror = () => reject(transaction.error);
          transaction.onabort = () => reject(transaction.error);
        }),
    );
  }

  const list = () => withStore("readonly", (store) => store.getAll()).then((items) => items || []);
  const put = (item) => withStore("readwrite", (store) => store.put(item));
  const remove = (key) => withStore("readwrite", (store) => store.delete(key));

  // --- Sending -------------------------------------------------------------------------

  function formData(item) {
    const data = new FormData();
    for (const [name, value] of item.fields) data.append(name, value);
    for (const file of item.files) {
      data.append(file.field, new File([file.blob], file.name, { type: file.type, lastModified: file.lastModified }));
    }
    return data;
  }

  function isLoginPage(response, loginPath) {
    if (!loginPath) return false;
    try {
      return new URL(response.url).pathname === loginPath;
    } catch {
      return false;
    }
  }

  // Posts one report; what became of it: sent (with the matter's address), refused
  // (with the form's messages), login (the server asked for one), or offline (no
  // answer, or one to try again later).
  async function post(item, token, loginPath) {
    let response;
    try {
      response = await fetch(item.url, {
        method: "POST",
        body: formData(item),
        credentials: "same-origin",
        headers: { "X-CSRFToken": token || "", [OWNER_HEADER]: item.owner, Accept: "application/json" },
      });
    } catch {
      return { state: QUEUED };
    }
    const json = (response.headers.get("content-type") || "").includes("application/json");
    if (response.ok && json) {
      const answer = await response.json().catch(() => ({}));
      if (answer.url) return { state: SENT, url: answer.url };
    }
    if (response.status === 422 && json) {
      const answer = await response.json().catch(() => ({}));
      return { state: REFUSED, errors: answer.errors || [] };
    }
    // Login expired: the page asks for one (a redirect to the login form); a stale
    // CSRF token after logging in again is answered 403 and sent again with a fresh one.
    if (isLoginPage(response, loginPath) || response.status === 401) return { state: LOGIN };
    return { state: QUEUED };
  }

  function locked(run) {
    const locks = scope.navigator && scope.navigator.locks;
    if (locks && typeof locks.request === "function") return locks.request(LOCK, run);
    return run();
  }

  // Sends what waits, one report after the other; the reports whose state changed.
  // `owner` (the logged-in person) limits it to their reports; `token` is the CSRF token.
  function flush({ owner = null, token = "", loginPath = "" } = {}) {
    return locked(async () => {
      const changed = [];
      for (const item of await list()) {
        if (!WAITING.has(item.state) || (owner !== null && item.owner !== owner)) continue;
        const result = await post(item, token, loginPath);
        if (result.state === QUEUED && item.state === QUEUED) continue;
        const updated = { ...item, state: result.state };
        if (result.state === SENT) {
          updated.result = result.url;
          updated.files = []; // the photos are on the server now
          updated.fields = [];
        }
        if (result.state === REFUSED) updated.errors = result.errors;
        await put(updated);
        changed.push(updated);
      }
      return changed;
    });
  }

  scope.YishiOutbox = { keep: put, list, remove, flush, SYNC_TAG, QUEUED, SENT, REFUSED, LOGIN };

  if (typeof document === "undefined") return; // in the service worker: no page to draw on

  // --- The page --------------------------------------------------------------------------

  const body = document.body;
  const owner = body ? body.dataset.outboxOwner || "" : "";

  function region() {
    return document.querySelector("[data-outbox-status]");
  }

  function text(name, values = {}) {
    const holder = region();
    const raw = (holder && holder.getAttribute(`data-msg-${name}`)) || "";
    return raw.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
  }

  function csrfToken() {
    try {
      const headers = JSON.parse((body && body.getAttribute("hx-headers")) || "{}");
      if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
    } catch {
      // fall back to the cookie
    }
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function line(item, state, extra) {
    const entry = document.createElement("li");
    entry.className = `message outbox ${state === REFUSED || state === LOGIN ? "error" : "success"}`;
    entry.dataset.outboxItem = item.key;
    entry.dataset.state = state;
    const words = document.createElement("span");
    const title = document.createElement("bdi");
    title.textContent = item.title || "";
    words.append(title, " — ", text(state, extra));
    entry.append(words);
    return entry;
  }

  function link(href, words) {
    const anchor = document.createElement("a");
    anchor.href = href;
    anchor.textContent = words;
    return anchor;
  }

  // Draws one line per report of this person, and forgets the sent ones once told.
  async function show() {
    const holder = region();
    if (!holder || !owner) return;
    let items;
    try {
      items = (await list()).filter((item) => item.owner === owner);
    } catch {
      return;
    }
    retryLater(items);
    const lines = document.createElement("ul");
    lines.className = "messages";
    for (const item of items.sort((a, b) => a.saved - b.saved)) {
      const entry = line(item, item.state, { errors: (item.errors || []).join(" ") });
      if (item.state === SENT) {
        entry.append(" ", link(item.result, text("open")));
        remove(item.key).catch(() => {});
      } else if (item.state === LOGIN) {
        entry.append(" ", link(body.dataset.loginUrl || "/", text("log-in")));
      } else if (item.state === REFUSED) {
        // The report form takes it back (static/js/issue-form.js), to be corrected.
        entry.append(" ", link(item.url, text("again")));
      }
      lines.append(entry);
    }
    // Lines of sent and refused reports stay on the page until it is left (the report
    // form may have taken a refused one back already); the rest are redrawn.
    const kept = Array.from(
      holder.querySelectorAll("[data-outbox-item][data-state=sent], [data-outbox-item][data-state=refused]"),
    );
    const shown = new Set(Array.from(lines.children).map((entry) => entry.dataset.outboxItem));
    // The question asked before logging out stays while a report still waits: the page
    // redraws these lines each time it tries the reports again.
    const waiting = items.some((item) => WAITING.has(item.state));
    const question = waiting ? holder.querySelector("li[data-state=logout]") : null;
    holder.replaceChildren();
    const all = document.createElement("ul");
    all.className = "messages";
    for (const entry of kept) if (!shown.has(entry.dataset.outboxItem)) all.append(entry);
    all.append(...lines.children);
    if (question) all.append(question);
    if (all.children.length) holder.append(all);
    // The report form on this page takes back a report the server refused.
    document.dispatchEvent(new CustomEvent("yishi:outbox"));
  }

  // navigator.onLine says true in a basement with one bar and no data: before a report
  // is posted the page asks the server, briefly, whether it answers at all.
  async function reachable() {
    if (navigator.onLine === false) return false;
    const url = body && body.dataset.outboxProbe;
    if (!url) return true;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), PROBE_MS);
    try {
      const response = await fetch(url, { cache: "no-store", credentials: "same-origin", signal: controller.signal });
      return response.ok;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  let flushing = null;
  let retry = null;

  // While a report waits and the page stays open, it is tried again now and then: the
  // `online` event never comes where the phone believed it was online all along.
  function retryLater(items) {
    clearTimeout(retry);
    retry = null;
    if (items.some((item) => item.owner === owner && item.state === QUEUED)) {
      retry = setTimeout(sendNow, RETRY_MS);
    }
  }

  function sendNow() {
    if (!owner || navigator.onLine === false) return show();
    if (!flushing) {
      flushing = flush({ owner, token: csrfToken(), loginPath: body.dataset.loginPath || "" })
        .catch(() => [])
        .then(() => show())
        .finally(() => {
          flushing = null;
        });
    }
    return flushing;
  }

  // Background Sync where the browser has it; elsewhere the page's `online` event and
  // the next visit do the sending.
  function askForSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready
      .then((registration) => registration.sync && registration.sync.register(SYNC_TAG))
      .catch(() => {});
  }

  function registerWorker() {
    const url = body && body.dataset.outboxWorker;
    if (!url || !("serviceWorker" in navigator) || window.isSecureContext === false) return;
    navigator.serviceWorker.register(url, { scope: "/" }).catch(() => {});
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data && event.data.type === "yishi-outbox") show();
    });
  }

  // Called by the report form when it is sent without a signal.
  async function queue(item) {
    await put({ ...item, owner, state: QUEUED, saved: Date.now() });
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
    askForSync();
    await show();
    const holder = region();
    if (holder) holder.scrollIntoView({ block: "nearest" });
  }

  // Logging out wipes what this site keeps on the phone (Clear-Site-Data): the member is
  // told first when reports are still waiting, and logs out only when they say so.
  function confirmLogout(form) {
    form.dataset.outboxConfirmed = "1";
    form.requestSubmit();
  }

  async function beforeLogout(form) {
    let waiting = [];
    try {
      waiting = (await list()).filter((item) => item.owner === owner && WAITING.has(item.state));
    } catch {
      waiting = [];
    }
    const holder = region();
    if (!waiting.length || !holder) {
      confirmLogout(form);
      return;
    }
    await show();
    holder.querySelector("li[data-state=logout]")?.remove(); // asked again: one question
    const entry = document.createElement("li");
    entry.className = "message outbox error";
    entry.dataset.state = "logout";
    const words = document.createElement("span");
    words.textContent = text("logout", { n: waiting.length });
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = text("logout-anyway");
    button.addEventListener("click", () => confirmLogout(form));
    entry.append(words, button);
    let lines = holder.querySelector("ul");
    if (!lines) {
      lines = document.createElement("ul");
      lines.className = "messages";
      holder.append(lines);
    }
    lines.append(entry);
    holder.scrollIntoView({ block: "nearest" });
    button.focus();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-outbox-logout")) return;
    if (form.dataset.outboxConfirmed) return;
    event.preventDefault();
    beforeLogout(form);
  });

  scope.YishiOutbox.queue = queue;
  scope.YishiOutbox.reachable = reachable;
  scope.YishiOutbox.owner = owner;

  if (!owner) return; // nobody logged in: what waits stays until they are
  registerWorker();
  window.addEventListener("online", sendNow);
  sendNow();
})();
