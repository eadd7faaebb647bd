// Measures one page against the size rules of tests/browser/test_every_page.py.
//
// Called as page.evaluate(source, limits) with limits = {text, body, target}; returns
// {text: [...], body: [...], targets: [...]}, each entry {selector, text, size}.
(limits) => {
  const SKIPPED_TAGS = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "OPTION", "OPTGROUP"]);

  const describe = (element) => {
    const parts = [];
    let node = element;
    while (node && node.nodeType === 1 && parts.length < 4) {
      let part = node.tagName.toLowerCase();
      if (node.id) {
        parts.unshift(`${part}#${node.id}`);
        break;
      }
      const classes = [...node.classList].slice(0, 2);
      if (classes.length) part += `.${classes.join(".")}`;
      const parent = node.parentElement;
      if (parent) {
        const same = [...parent.children].filter((child) => child.tagName === node.tagName);
        if (same.length > 1) part += `:nth-of-type(${same.indexOf(node) + 1})`;
      }
      parts.unshift(part);
      if (["MAIN", "HEADER", "FOOTER", "NAV", "BODY"].includes(node.tagName)) break;
      node = parent;
    }
    return parts.join(" > ");
  };

  const short = (text) => {
    const squeezed = (text || "").replace(/\s+/g, " ").trim();
    return squeezed.length > 30 ? `${squeezed.slice(0, 29)}…` : squeezed;
  };

  // Hidden on purpose: display none, visibility hidden, transparent, clipped to a pixel
  // (.visually-hidden), or pushed off the page (the skip link until it is focused).
  const hiddenCache = new Map();
  const hidden = (element) => {
    if (hiddenCache.has(element)) return hiddenCache.get(element);
    let answer = false;
    const style = getComputedStyle(element);
    if (style.display === "none" || style.opacity === "0") answer = true;
    else if (element.tagName !== "BODY" && element.parentElement) {
      const box = element.getBoundingClientRect();
      const tiny = box.width <= 1 || box.height <= 1;
      if (tiny && (style.overflow !== "visible" || style.clip !== "auto")) answer = true;
      else if (box.right + scrollX <= 0 || box.bottom + scrollY <= 0) answer = true;
      else answer = hidden(element.parentElement);
    }
    hiddenCache.set(element, answer);
    return answer;
  };
  // checkVisibility also sees what a closed <details> folds away.
  const visible = (element) =>
    getComputedStyle(element).visibility === "visible" &&
    element.checkVisibility({ opacityProperty: true, visibilityProperty: true }) &&
    !hidden(element);

  const px = (value) => parseFloat(value);
  const round = (value) => Math.round(value * 10) / 10;

  // --- Text: every visible character, pseudo-element labels included -------------------
  const text = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!node.data.trim() || !element || seen.has(element)) continue;
    if (element.closest("script, style, noscript, template, option, optgroup")) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const painted = [...range.getClientRects()].some((box) => box.width > 0 && box.height > 0);
    if (!painted || !visible(element)) continue;
    const size = px(getComputedStyle(element).fontSize);
    if (size < limits.text - 0.05) {
      seen.add(element);
      text.push({ selector: describe(element), text: short(element.textContent), size: `${round(size)} px` });
    }
  }
  for (const element of document.body.querySelectorAll("*")) {
    if (SKIPPED_TAGS.has(element.tagName)) continue;
    for (const pseudo of ["::before", "::after"]) {
      const style = getComputedStyle(element, pseudo);
      const content = style.content;
      if (!content || content === "none" || content === "normal" || style.display === "none") continue;
      let label = "";
      if (content.includes("attr(")) {
        const name = /attr\(\s*([\w-]+)/.exec(content)[1];
        label = element.getAttribute(name) || "";
      } else {
        label = [...content.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((match) => match[1]).join("");
      }
      if (!label.trim() || !visible(element)) continue;
      const size = px(style.fontSize);
      if (size < limits.text - 0.05) {
        text.push({ selector: `${describe(element)}${pseudo}`, text: short(label), size: `${round(size)} px` });
      }
    }
  }

  // --- Body text: the page's base size, form labels and what is typed in fields ---------
  const body = [];
  const base = px(getComputedStyle(document.body).fontSize);
  if (base < limits.body - 0.05) {
    body.push({ selector: "body", text: "(the base size every paragraph inherits)", size: `${round(base)} px` });
  }
  const fields = "label, legend, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea";
  for (const element of document.body.querySelectorAll(fields)) {
    if (!visible(element)) continue;
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const size = px(getComputedStyle(element).fontSize);
    if (size < limits.body - 0.05) {
      const words = element.textContent.trim() || element.value || element.getAttribute("placeholder") || "";
      body.push({ selector: describe(element), text: short(words), size: `${round(size)} px` });
    }
  }

  // --- Targets ---------------------------------------------------------------------------
  const labelled = (input) =>
    input.closest("label") || (input.id && document.querySelector(`label[for="${CSS.escape(input.id)}"]`));
  const choice = (input) => input.matches("input[type=checkbox], input[type=radio]");
  const inSentence = (link) => {
    // A link laid out inline inside a line of other text (WCAG 2.5.8's inline exception).
    if (getComputedStyle(link).display !== "inline") return false;
    let block = link.parentElement;
    while (block && getComputedStyle(block).display.startsWith("inline")) block = block.parentElement;
    if (!block) return false;
    const others = block.textContent.replace(link.textContent, "").replace(/[\s\p{P}]/gu, "");
    return others.length >= 2;
  };
  const targets = [];
  const candidates = document.body.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], label"
  );
  for (const element of candidates) {
    if (element.tagName === "LABEL") {
      const control = element.control;
      if (!control || !choice(control)) continue; // only a label that works a checkbox or radio
    }
    if (element.tagName === "INPUT" && choice(element) && labelled(element)) continue; // its label is the target
    if (element.disabled) continue;
    if (!visible(element)) continue;
    if (element.tagName === "A" && inSentence(element)) continue;
    const box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.width < limits.target - 0.5 || box.height < limits.target - 0.5) {
      const words =
        element.getAttribute("aria-label") ||
        element.textContent.trim() ||
        element.value ||
        element.getAttribute("type") ||
        "";
      targets.push({
        selector: describe(element),
        text: short(words),
        size: `${round(box.width)}×${round(box.height)}`,
      });
    }
  }
  return { text, body, targets };
}
