// Small behaviours that need no framework; loaded from this origin so the CSP can forbid inline scripts.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-submit-on-change")) {
    field.form.requestSubmit();
  }
});
