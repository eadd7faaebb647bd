{% load static %}// Yishi's service worker: sends the reports made without a signal once it returns
// (Background Sync), with the same code as the pages (static/js/outbox.js).
importScripts("{% static 'js/outbox.js' %}");

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

async function csrfToken() {
  try {
    if (self.cookieStore) {
      const cookie = await self.cookieStore.get("{{ csrf_cookie_name }}");
      if (cookie) return cookie.value;
    }
  } catch {
    // no cookie to read: the pages send the queue instead
  }
  return "";
}

async function send() {
  const token = await csrfToken();
  if (!token) return;
  const changed = await self.YishiOutbox.flush({ token, loginPath: "{{ login_path|escapejs }}" });
  const windows = await self.clients.matchAll({ type: "window" });
  for (const client of windows) client.postMessage({ type: "yishi-outbox" });
  const waiting = (await self.YishiOutbox.list()).some((item) => item.state === self.YishiOutbox.QUEUED);
  // Rejected, the sync is tried again later by the browser.
  if (waiting && !changed.length) throw new Error("still offline");
}

self.addEventListener("sync", (event) => {
  if (event.tag === self.YishiOutbox.SYNC_TAG) event.waitUntil(send());
});
