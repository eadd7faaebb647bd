// How far the page scrolls sideways, and which elements stick out of the viewport while
// their parent does not (the ones to fix). Used by tests/browser/test_every_page.py.
() => {
  const page = document.scrollingElement;
  const width = page.clientWidth;
  const describe = (element, depth = 3) => {
    const classes = [...element.classList].slice(0, 2);
    let name = element.tagName.toLowerCase();
    if (element.id) return `${name}#${element.id}`;
    if (classes.length) name += `.${classes.join(".")}`;
    const parent = element.parentElement;
    const where = depth > 1 && parent && parent !== document.body ? describe(parent, depth - 1) : "";
    return where ? `${where} > ${name}` : name;
  };
  const scrolls = (element) => {
    for (let node = element.parentElement; node && node !== document.body; node = node.parentElement) {
      if (getComputedStyle(node).overflowX !== "visible") return true;
    }
    return false;
  };
  const culprits = [];
  if (page.scrollWidth > width) {
    for (const element of document.body.querySelectorAll("*")) {
      const box = element.getBoundingClientRect();
      if (box.width === 0 || box.right <= width + 0.5) continue;
      const parent = element.parentElement;
      if (parent && parent.getBoundingClientRect().right > width + 0.5) continue;
      if (scrolls(element)) continue;
      const words = (element.textContent || "").replace(/\s+/g, " ").trim().slice(0, 24);
      culprits.push({ selector: describe(element), text: words, size: `right edge at ${Math.round(box.right)} px` });
      if (culprits.length >= 8) break;
    }
  }
  return { scrollWidth: page.scrollWidth, width, culprits };
}
