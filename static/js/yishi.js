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
