// Small behaviours that need no framework; loaded from this origin so the CSP can forbid inline scripts.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-submit-on-change")) {
    field.form.requestSubmit();
  }
});

// After a failed submit the focus goes to the form's error summary (includes/form_errors.html),
// so a screen reader reads it and a keyboard starts from it; each of its links focuses its field.
function focusErrorSummary() {
  const summary = document.querySelector("[data-error-summary]:not([data-focused])");
  if (summary) {
    summary.setAttribute("data-focused", "");
    summary.focus();
  }
}
document.addEventListener("DOMContentLoaded", focusErrorSummary);
document.addEventListener("htmx:afterSettle", (event) => {
  // A form sent by htmx and answered with its errors; not filters that refresh as one types.
  const verb = event.detail && event.detail.requestConfig && event.detail.requestConfig.verb;
  if (verb && verb !== "get") {
    focusErrorSummary();
  }
});
document.addEventListener("click", (event) => {
  const link = event.target instanceof Element && event.target.closest("[data-error-summary] a[href^='#']");
  if (!link) {
    return;
  }
  const field = document.getElementById(decodeURIComponent(link.hash.slice(1)));
  if (field) {
    event.preventDefault();
    field.focus();
    field.scrollIntoView({ block: "center" });
  }
});

// Drafts of the forms (static/js/issue-form.js) belong to one login, named by
// <body data-draft-session>: on every page, drafts saved under another login are
// dropped, and a page nobody is logged in to (the login page one lands on after
// logging out) drops them all, photos included. The logout response also sends
// Clear-Site-Data; this covers browsers that ignore it.
(() => {
  const PREFIX = "yishi:draft:";
  const body = document.body;
  if (!body || !("draftSession" in body.dataset)) return;
  const session = body.dataset.draftSession;
  let store = null;
  try {
    store = window.localStorage;
  } catch {
    return;
  }
  try {
    for (let index = store.length - 1; index >= 0; index -= 1) {
      const name = store.key(index);
      if (!name || !name.startsWith(PREFIX)) continue;
      let draft = null;
      try {
        draft = JSON.parse(store.getItem(name) || "null");
      } catch {
        draft = null;
      }
      if (!session || !draft || draft.session !== session) store.removeItem(name);
    }
  } catch {
    // storage blocked: nothing was kept
  }
  if (!session && window.indexedDB) {
    try {
      window.indexedDB.deleteDatabase("yishi-drafts");
    } catch {
      // nothing to do
    }
  }
})();
