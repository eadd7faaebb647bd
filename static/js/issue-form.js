// Issue forms on a phone with a weak signal: photos are shrunk before upload,
// nothing typed (or photographed) is lost to a reload or a failed upload, and
// "use my location" fills the hidden coordinates.
//
// Loaded with `defer` from this origin (the CSP forbids inline scripts and
// styles); no library, no build step. htmx is not needed: every listener is
// delegated from `document`, and content htmx swaps in is set up on `htmx:load`.
//
// Texts come from `data-msg-*` attributes on the form (or an ancestor), which
// the template renders with {% translate %}; a small built-in dictionary keyed
// by <html lang> covers pages that do not carry them.
(() => {
  "use strict";

  const DRAFT_PREFIX = "yishi:draft:";
  const DB_NAME = "yishi-drafts";
  const DB_STORE = "photos";
  const DRAFT_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
  const SAVE_DELAY_MS = 400;
  const DEFAULT_MAX_PHOTOS = 6;
  const DEFAULT_MAX_SIDE = 1600;
  const JPEG_QUALITY = 0.8;
  const SENDING_GUARD_MS = 60 * 1000;
  const NEVER_SAVED = new Set(["csrfmiddlewaretoken", "version"]);
  const NOT_TEXT = new Set(["file", "password", "submit", "button", "reset", "image"]);

  const FALLBACK = {
    "zh-hans": {
      preparing: "正在处理照片……",
      ready: "{n} 张照片已就绪（{size}）",
      "too-many": "最多 {max} 张照片，请重新选择。",
      busy: "请稍候，照片还在处理中。",
      "photos-restored": "草稿中保留的照片：{n} 张（{size}）",
      "draft-restored": "已恢复您之前填写的内容。",
      discard: "放弃草稿",
      "not-kept": "手机空间不足，无法保存这条反映。尚未发送，请在有信号时重试。",
      locating: "正在获取您的位置……",
      located: "已添加位置（误差约 {m} 米）",
      "locate-denied": "这部手机未允许获取位置，您可以用文字描述地点。",
      "locate-failed": "无法获取您的位置。请重试，或用文字描述地点。",
    },
    en: {
      preparing: "Preparing the photos…",
      ready: "{n} photos ready ({size})",
      "ready-one": "1 photo ready ({size})",
      "too-many": "At most {max} photos, please. Choose again.",
      busy: "Please wait: the photos are still being prepared.",
      "photos-restored": "Photos kept from your draft: {n} ({size})",
      "draft-restored": "What you typed earlier has been restored.",
      discard: "Discard draft",
      "not-kept":
        "This phone has no room to keep the report. Nothing was sent: try again when you have a signal.",
      locating: "Finding your location…",
      located: "Location added (±{m} m)",
      "locate-denied":
        "Location is not allowed on this phone. You can describe the place in words instead.",
      "locate-failed":
        "Could not find your location. Please try again, or describe the place in words.",
    },
  };

  // --- Texts -----------------------------------------------------------------------

  function language() {
    const lang = (document.documentElement.lang || "").toLowerCase();
    return lang.startsWith("en") ? "en" : "zh-hans";
  }

  // The first of `names` the page (or the dictionary) has, with {placeholders} filled.
  function message(element, names, values = {}) {
    const list = Array.isArray(names) ? names : [names];
    let text = null;
    for (const name of list) {
      const holder = element && element.closest(`[data-msg-${name}]`);
      if (holder) {
        text = holder.getAttribute(`data-msg-${name}`);
        break;
      }
    }
    if (text === null) {
      const dictionary = FALLBACK[language()];
      const found = list.find((name) => name in dictionary);
      text = found ? dictionary[found] : "";
    }
    return text.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
  }

  function formatSize(bytes) {
    if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
    return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  }

  function totalSize(files) {
    return files.reduce((sum, file) => sum + file.size, 0);
  }

  // `state` (busy, ready, restored, error, "") is exposed as data-state for styles and tests.
  function say(element, text, state = "") {
    if (!element) return;
    element.textContent = text;
    if (state) element.dataset.state = state;
    else delete element.dataset.state;
    element.classList.toggle("error", state === "error");
  }

  // --- Submit buttons ----------------------------------------------------------------

  const busyCounts = new WeakMap();

  function submitButtons(form) {
    return form.querySelectorAll("button:not([type]), button[type=submit], input[type=submit]");
  }

  function setBusy(form, busy) {
    const count = (busyCounts.get(form) || 0) + (busy ? 1 : -1);
    busyCounts.set(form, Math.max(0, count));
    const disable = count > 0;
    if (disable) form.setAttribute("aria-busy", "true");
    else form.removeAttribute("aria-busy");
    for (const button of submitButtons(form)) {
      if (disable && !button.disabled) {
        button.disabled = true;
        button.dataset.disabledBy = "photos";
      } else if (!disable && button.dataset.disabledBy === "photos") {
        button.disabled = false;
        delete button.dataset.disabledBy;
      }
    }
  }

  function isBusy(form) {
    return (busyCounts.get(form) || 0) > 0;
  }

  // --- Photos: shrink before upload ---------------------------------------------------

  const generations = new WeakMap();

  function nextGeneration(input) {
    const next = (generations.get(input) || 0) + 1;
    generations.set(input, next);
    return next;
  }

  function maxPhotos(input) {
    const form = input.form;
    const value = input.dataset.max || (form && form.dataset.maxPhotos);
    return Number.parseInt(value, 10) || DEFAULT_MAX_PHOTOS;
  }

  function loadImage(file) {
    return new Promise((resolve, reject) => {
      const url = URL.createObjectURL(file);
      const image = new Image();
      image.onload = () => {
        URL.revokeObjectURL(url);
        resolve(image);
      };
      image.onerror = () => {
        URL.revokeObjectURL(url);
        reject(new Error("undecodable image"));
      };
      image.src = url;
    });
  }

  async function decode(file) {
    if (typeof createImageBitmap === "function") {
      try {
        return await createImageBitmap(file, { imageOrientation: "from-image" });
      } catch {
        // Older engines refuse the options or the format: try an <img> instead.
      }
    }
    return loadImage(file);
  }

  function encode(canvas) {
    return new Promise((resolve) => {
      try {
        canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY);
      } catch {
        resolve(null);
      }
    });
  }

  // A JPEG of at most `maxSide` px with the camera's orientation applied and no
  // metadata, or the original file when that is not smaller or cannot be made.
  async function shrink(file, maxSide) {
    let source;
    try {
      source = await decode(file);
    } catch {
      return file;
    }
    try {
      const width = source.naturalWidth || source.width;
      const height = source.naturalHeight || source.height;
      if (!width || !height) return file;
      const scale = Math.min(1, maxSide / Math.max(width, height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      const context = canvas.getContext("2d");
      if (!context) return file;
      context.fillStyle = "#fff"; // transparent pictures get white, not black
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.imageSmoothingEnabled = true;
      context.imageSmoothingQuality = "high";
      context.drawImage(source, 0, 0, canvas.width, canvas.height);
      const blob = await encode(canvas);
      canvas.width = canvas.height = 0; // give the memory back at once on small phones
      if (!blob || blob.size >= file.size) return file;
      const base = (file.name || "").replace(/\.[^.]*$/, "") || "photo";
      return new File([blob], `${base}.jpg`, {
        type: "image/jpeg",
        lastModified: file.lastModified || Date.now(),
      });
    } catch {
      return file;
    } finally {
      if (typeof source.close === "function") source.close();
    }
  }

  function putFiles(input, files) {
    try {
      const transfer = new DataTransfer();
      for (const file of files) transfer.items.add(file);
      input.files = transfer.files;
      return true;
    } catch {
      return false; // no DataTransfer constructor: the originals go up as chosen
    }
  }

  function photoStatus(input) {
    return input.form && input.form.querySelector("[data-photo-status]");
  }

  function readyText(input, files) {
    const names = files.length === 1 ? ["ready-one", "ready"] : ["ready"];
    return message(input, names, { n: files.length, size: formatSize(totalSize(files)) });
  }

  async function photosChosen(input) {
    const form = input.form;
    const status = photoStatus(input);
    const generation = nextGeneration(input);
    const chosen = Array.from(input.files || []);
    const max = maxPhotos(input);
    if (chosen.length > max) {
      input.value = "";
      say(status, message(input, "too-many", { max }), "error");
      forgetPhotos(form);
      return;
    }
    if (!chosen.length) {
      say(status, "");
      forgetPhotos(form);
      return;
    }
    const maxSide = Number.parseInt(input.dataset.downscale, 10) || DEFAULT_MAX_SIDE;
    setBusy(form, true);
    say(status, message(input, "preparing"), "busy");
    try {
      const shrunk = [];
      for (const file of chosen) {
        shrunk.push(await shrink(file, maxSide));
        if (generations.get(input) !== generation) return; // chosen again meanwhile
      }
      const files = putFiles(input, shrunk) ? shrunk : chosen;
      say(status, readyText(input, files), "ready");
      keepPhotos(form, input, files);
    } finally {
      setBusy(form, false);
    }
  }

  // --- Drafts: what was typed, in localStorage -----------------------------------------

  const saveTimers = new Map();
  const restored = new WeakSet();

  // Drafts belong to one login: the page names it (<body data-draft-session>), a draft
  // saved under another login is dropped, and a page nobody is logged in to keeps none.
  function draftSession() {
    return (document.body && document.body.dataset.draftSession) || "";
  }

  function draftKey(form) {
    return (form && form.dataset.draftKey) || "";
  }

  function storage() {
    try {
      return window.localStorage;
    } catch {
      return null; // storage blocked: drafts are simply not kept
    }
  }

  function isDraftField(element) {
    if (!element.name || element.disabled || NEVER_SAVED.has(element.name)) return false;
    if (element.hasAttribute("data-draft-skip")) return false;
    if (element instanceof HTMLTextAreaElement || element instanceof HTMLSelectElement) return true;
    return element instanceof HTMLInputElement && !NOT_TEXT.has(element.type);
  }

  function isCheckable(element) {
    return element.type === "checkbox" || element.type === "radio";
  }

  function draftFields(form) {
    return Array.from(form.elements).filter(isDraftField);
  }

  function readDraft(key) {
    const store = storage();
    if (!store || !key) return null;
    try {
      const draft = JSON.parse(store.getItem(DRAFT_PREFIX + key) || "null");
      if (!draft || typeof draft.fields !== "object") return null;
      if (Date.now() - (draft.saved || 0) > DRAFT_MAX_AGE_MS) {
        store.removeItem(DRAFT_PREFIX + key);
        return null;
      }
      if (!draftSession() || draft.session !== draftSession()) {
        forgetDraft(key); // typed under another login: text and photos go
        return null;
      }
      return draft;
    } catch {
      return null;
    }
  }

  function saveDraft(form) {
    const key = draftKey(form);
    const store = storage();
    if (!key || !store || !draftSession()) return;
    clearTimeout(saveTimers.get(form));
    saveTimers.delete(form);
    const fields = {};
    let typed = false;
    for (const element of draftFields(form)) {
      const values = (fields[element.name] ||= []);
      if (isCheckable(element)) {
        if (element.checked) values.push(element.value);
      } else if (element instanceof HTMLSelectElement) {
        for (const option of element.selectedOptions) values.push(option.value);
      } else {
        values.push(element.value);
        if (element.type !== "hidden" && element.value.trim()) typed = true;
      }
    }
    const draft = { saved: Date.now(), session: draftSession(), fields };
    const accuracy = form.dataset.locatedAccuracy;
    if (accuracy) draft.accuracy = Number(accuracy);
    try {
      if (typed) store.setItem(DRAFT_PREFIX + key, JSON.stringify(draft));
      else store.removeItem(DRAFT_PREFIX + key); // nothing worth keeping was typed
    } catch {
      // Storage full or blocked: the form still works, the draft is just not kept.
    }
  }

  function scheduleSave(form) {
    clearTimeout(saveTimers.get(form));
    saveTimers.set(
      form,
      setTimeout(() => saveDraft(form), SAVE_DELAY_MS),
    );
  }

  function saveAllPending() {
    for (const form of Array.from(saveTimers.keys())) saveDraft(form);
  }

  // A page the server drew again after a refused submission shows what was sent:
  // choices it re-rendered are never replaced, only empty text fields are filled.
  function isRedrawn(form) {
    return Boolean(form.querySelector(".errors, .field.invalid, .error[role=alert]"));
  }

  function selectIsUntouched(select) {
    return Array.from(select.options).every((option) => option.selected === option.defaultSelected)
      || select.value === "";
  }

  function restoreFields(form, draft) {
    const redrawn = isRedrawn(form);
    const seen = {};
    const groups = {};
    let changed = false;
    for (const element of draftFields(form)) {
      const values = draft.fields[element.name];
      if (!Array.isArray(values)) continue;
      if (isCheckable(element)) {
        (groups[element.name] ||= []).push(element);
        continue;
      }
      if (element instanceof HTMLSelectElement) {
        if (redrawn || !selectIsUntouched(element)) continue;
        const options = Array.from(element.options);
        if (!values.some((value) => options.some((option) => option.value === value))) continue;
        for (const option of options) option.selected = values.includes(option.value);
        changed = true;
        continue;
      }
      const index = seen[element.name] || 0;
      seen[element.name] = index + 1;
      const value = values[index];
      if (typeof value === "string" && value !== "" && element.value === "") {
        element.value = value;
        if (element.type !== "hidden") changed = true;
      }
    }
    if (!redrawn) {
      for (const [name, elements] of Object.entries(groups)) {
        if (!elements.every((element) => element.checked === element.defaultChecked)) continue;
        const values = draft.fields[name];
        for (const element of elements) {
          const checked = values.includes(element.value);
          if (element.checked !== checked) {
            element.checked = checked;
            changed = true;
          }
        }
      }
    }
    return changed;
  }

  function showRestoredLocation(form, draft) {
    const latitude = form.querySelector("input[name=latitude]");
    if (!latitude || !latitude.value || !draft.accuracy) return;
    form.dataset.locatedAccuracy = String(draft.accuracy);
    say(
      form.querySelector("[data-locate-status]"),
      message(form, "located", { m: Math.round(draft.accuracy) }),
      "ready",
    );
  }

  function showDraftNote(form) {
    if (form.querySelector("[data-draft-note]")) return;
    const note = document.createElement("div");
    note.className = "draft-note";
    note.setAttribute("role", "status");
    note.dataset.draftNote = "";
    const text = document.createElement("p");
    text.textContent = message(form, "draft-restored");
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "link";
    discard.dataset.discardDraft = "";
    discard.textContent = message(form, "discard");
    note.append(text, discard);
    const after = form.querySelector(".errors");
    if (after) after.after(note);
    else form.prepend(note);
  }

  function restoreDraft(form) {
    if (restored.has(form)) return;
    restored.add(form);
    const key = draftKey(form);
    const draft = readDraft(key);
    if (draft && restoreFields(form, draft)) showDraftNote(form);
    if (draft) showRestoredLocation(form, draft);
    restorePhotos(form);
  }

  function discardDraft(form) {
    const key = draftKey(form);
    clearTimeout(saveTimers.get(form));
    saveTimers.delete(form);
    forgetDraft(key);
    nextGenerationForAll(form);
    form.reset();
    for (const name of ["latitude", "longitude"]) {
      const input = form.querySelector(`input[name=${name}]`);
      if (input) input.value = "";
    }
    delete form.dataset.locatedAccuracy;
    say(form.querySelector("[data-photo-status]"), "");
    say(form.querySelector("[data-locate-status]"), "");
    const note = form.querySelector("[data-draft-note]");
    if (note) note.remove();
  }

  function nextGenerationForAll(form) {
    for (const input of form.querySelectorAll("input[type=file]")) nextGeneration(input);
  }

  function forgetDraft(key) {
    if (!key) return;
    const store = storage();
    try {
      if (store) store.removeItem(DRAFT_PREFIX + key);
    } catch {
      // nothing to do
    }
    photoStore("readwrite", (store) => store.delete(key)).catch(() => {});
  }

  function forgetExpiredDrafts() {
    const store = storage();
    if (!store) return;
    try {
      for (let index = store.length - 1; index >= 0; index -= 1) {
        const name = store.key(index);
        if (name && name.startsWith(DRAFT_PREFIX)) readDraft(name.slice(DRAFT_PREFIX.length));
      }
    } catch {
      // nothing to do
    }
  }

  // --- Drafts: the shrunk photos, in IndexedDB -----------------------------------------

  let database = null;
  let queue = Promise.resolve();

  function openDatabase() {
    if (!database) {
      database = new Promise((resolve, reject) => {
        if (!window.indexedDB) {
          reject(new Error("no IndexedDB"));
          return;
        }
        const request = window.indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => request.result.createObjectStore(DB_STORE);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
        request.onblocked = () => reject(new Error("IndexedDB blocked"));
      });
      database.catch(() => {
        database = null;
      });
    }
    return database;
  }

  // One operation at a time, in order: a clear is never overtaken by a later restore.
  function photoStore(mode, operation) {
    const run = () =>
      openDatabase().then(
        (db) =>
          new Promise((resolve, reject) => {
            const transaction = db.transaction(DB_STORE, mode);
            const request = operation(transaction.objectStore(DB_STORE));
            transaction.oncomplete = () => resolve(request ? request.result : undefined);
            transaction.onerror = () => reject(transaction.error);
            transaction.onabort = () => reject(transaction.error);
          }),
      );
    const result = queue.then(run, run);
    queue = result.catch(() => {});
    return result;
  }

  function keepPhotos(form, input, files) {
    const key = draftKey(form);
    if (!key) return;
    if (!files.length) {
      forgetPhotos(form);
      return;
    }
    if (!draftSession()) return;
    const record = {
      saved: Date.now(),
      session: draftSession(),
      input: input.name,
      files: files.map((file) => ({
        name: file.name,
        type: file.type,
        lastModified: file.lastModified,
        blob: file.slice(0, file.size, file.type),
      })),
    };
    photoStore("readwrite", (store) => store.put(record, key)).catch(() => {});
  }

  function forgetPhotos(form) {
    const key = draftKey(form);
    if (key) photoStore("readwrite", (store) => store.delete(key)).catch(() => {});
  }

  function restorePhotos(form) {
    const key = draftKey(form);
    if (!key) return;
    const inputs = Array.from(form.querySelectorAll("input[type=file]"));
    if (!inputs.length) return;
    const started = new Map(inputs.map((input) => [input, generations.get(input) || 0]));
    photoStore("readonly", (store) => store.get(key))
      .then((record) => {
        if (!record || !Array.isArray(record.files) || !record.files.length) return;
        if (
          Date.now() - (record.saved || 0) > DRAFT_MAX_AGE_MS ||
          !draftSession() ||
          record.session !== draftSession()
        ) {
          forgetPhotos(form);
          return;
        }
        const input = inputs.find((one) => one.name === record.input) || inputs[0];
        // The person chose photos while we were reading: theirs win.
        if ((generations.get(input) || 0) !== started.get(input) || input.files.length) return;
        const files = record.files.map(
          (saved) =>
            new File([saved.blob], saved.name, { type: saved.type, lastModified: saved.lastModified }),
        );
        if (!putFiles(input, files)) return;
        say(
          photoStatus(input),
          message(input, "photos-restored", {
            n: files.length,
            size: formatSize(totalSize(files)),
          }),
          "restored",
        );
        showDraftNote(form);
      })
      .catch(() => {});
  }

  // --- Use my location ------------------------------------------------------------------

  function canLocate() {
    return "geolocation" in navigator && window.isSecureContext !== false;
  }

  function locate(button) {
    const form = button.form || button.closest("form");
    if (!form) return;
    const status = form.querySelector("[data-locate-status]");
    const latitude = form.querySelector("input[name=latitude]");
    const longitude = form.querySelector("input[name=longitude]");
    if (!latitude || !longitude) return;
    button.disabled = true;
    say(status, message(button, "locating"), "busy");
    navigator.geolocation.getCurrentPosition(
      (position) => {
        button.disabled = false;
        const { coords } = position;
        latitude.value = coords.latitude.toFixed(6);
        longitude.value = coords.longitude.toFixed(6);
        form.dataset.locatedAccuracy = String(Math.round(coords.accuracy || 0));
        say(status, message(button, "located", { m: Math.round(coords.accuracy || 0) }), "ready");
        saveDraft(form);
      },
      (error) => {
        button.disabled = false;
        const denied = error && error.code === 1; // PERMISSION_DENIED
        say(status, message(button, denied ? "locate-denied" : "locate-failed"), "error");
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  }

  // --- Staff intake: "Raised by" shows only the fields its answer needs ---------------------
  // The stylesheet does it with :has(); this also covers browsers without it. Hidden fields
  // stay in the form, so what was typed in them is kept, and the server reads only the
  // fields of the answer chosen.

  function showReporterFields(form) {
    const chosen = form.querySelector("[data-reporter-mode] input:checked");
    if (!chosen) return;
    for (const group of form.querySelectorAll("[data-reporter-for]")) {
      group.hidden = !group.getAttribute("data-reporter-for").split(" ").includes(chosen.value);
    }
  }

  // --- Wiring -------------------------------------------------------------------------------

  function within(root, selector) {
    const found = Array.from(root.querySelectorAll ? root.querySelectorAll(selector) : []);
    if (root.matches && root.matches(selector)) found.unshift(root);
    return found;
  }

  function setUp(root) {
    for (const element of within(root, "[data-clear-draft]")) {
      forgetDraft(element.getAttribute("data-clear-draft"));
    }
    if (canLocate()) {
      for (const button of within(root, "button[data-locate]")) button.hidden = false;
    }
    for (const form of within(root, "form[data-draft-key]")) restoreDraft(form);
    for (const form of within(root, "form[data-outbox]")) takeBackRefused(form);
    for (const mode of within(root, "[data-reporter-mode]")) {
      if (mode.closest("form")) showReporterFields(mode.closest("form"));
    }
  }

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (
      target instanceof HTMLInputElement &&
      target.type === "file" &&
      target.hasAttribute("data-downscale") &&
      target.form &&
      target.form.hasAttribute("data-issue-form")
    ) {
      photosChosen(target);
    }
    if (target instanceof HTMLInputElement && target.closest("[data-reporter-mode]") && target.form) {
      showReporterFields(target.form);
    }
  });

  for (const type of ["input", "change"]) {
    document.addEventListener(type, (event) => {
      const target = event.target;
      const form = target && target.form;
      if (form && draftKey(form) && isDraftField(target)) scheduleSave(form);
    });
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const locateButton = target && target.closest("button[data-locate]");
    if (locateButton && canLocate()) {
      event.preventDefault();
      locate(locateButton);
      return;
    }
    const discard = target && target.closest("[data-discard-draft]");
    if (discard && discard.closest("form")) {
      event.preventDefault();
      discardDraft(discard.closest("form"));
    }
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-issue-form")) return;
    if (isBusy(form)) {
      event.preventDefault();
      say(form.querySelector("[data-photo-status]"), message(form, "busy"), "busy");
      return;
    }
    if (draftKey(form)) saveDraft(form);
    if (event.defaultPrevented || form.matches("[hx-post], [hx-put], [data-hx-post]")) return;
    if (keepForLater(form, event)) return;
    // A second tap on a slow connection would send the matter twice.
    if (form.dataset.sending) {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "1";
    setTimeout(() => {
      for (const button of submitButtons(form)) button.disabled = true;
    }, 0);
    setTimeout(() => allowSending(form), SENDING_GUARD_MS);
  });

  // --- Without a signal: the report waits on the phone (static/js/outbox.js) ---------------

  function outbox(form) {
    const box = window.YishiOutbox;
    return form.hasAttribute("data-outbox") && box && box.owner && typeof box.queue === "function"
      ? box
      : null;
  }

  function newSubmissionKey() {
    const bytes = new Uint8Array(24);
    crypto.getRandomValues(bytes);
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // Offline (the phone says so, or the server does not answer), the report is kept to
  // be sent later instead of posted into the void; online it is posted as usual. True
  // when the submit was taken over.
  function keepForLater(form, event) {
    const box = outbox(form);
    if (!box) return false;
    if (form.dataset.outboxOnline) {
      delete form.dataset.outboxOnline; // the server answered: post as usual
      return false;
    }
    event.preventDefault();
    if (form.dataset.outboxProbing) return true; // a second tap while asking
    const submitter = event.submitter && event.submitter.form === form ? event.submitter : null;
    form.dataset.outboxProbing = "1";
    box
      .reachable()
      .then((online) => {
        delete form.dataset.outboxProbing;
        if (online) {
          form.dataset.outboxOnline = "1";
          if (submitter) form.requestSubmit(submitter);
          else form.requestSubmit();
        } else if (!form.checkValidity()) {
          form.reportValidity();
        } else {
          keep(form, box);
        }
      })
      .catch(() => {
        delete form.dataset.outboxProbing;
      });
    return true;
  }

  // The report's fields, its photos and its one-time key go to the outbox; the form is
  // emptied for the next report, with a key of its own.
  function keep(form, box) {
    const fields = [];
    const files = [];
    for (const [name, value] of new FormData(form)) {
      if (name === "csrfmiddlewaretoken") continue;
      if (value instanceof File) {
        if (value.name && value.size) {
          files.push({
            field: name,
            name: value.name,
            type: value.type,
            lastModified: value.lastModified,
            blob: value.slice(0, value.size, value.type),
          });
        }
      } else {
        fields.push([name, value]);
      }
    }
    const keyInput = form.querySelector("input[name=submission_key]");
    const key = (keyInput && keyInput.value) || newSubmissionKey();
    const title = form.querySelector("input[name=title]");
    const item = {
      key,
      url: form.action || window.location.href,
      draftKey: draftKey(form),
      title: title ? title.value : "",
      fields,
      files,
    };
    box
      .queue(item)
      .then(() => {
        discardDraft(form);
        if (keyInput) keyInput.value = newSubmissionKey();
      })
      .catch(() => {
        // No room on the phone: leave the draft as it is and say nothing was sent.
        say(form.querySelector("[data-photo-status]"), message(form, "not-kept"), "error");
      });
  }

  // A report the server refused when it was sent later comes back into the form.
  function takeBackRefused(form) {
    const box = outbox(form);
    if (!box) return;
    box
      .list()
      .then((items) => {
        const item = items.find(
          (one) => one.state === box.REFUSED && one.owner === box.owner && one.draftKey === draftKey(form),
        );
        if (!item) return;
        const values = {};
        for (const [name, value] of item.fields) (values[name] ||= []).push(value);
        restoreFields(form, { fields: values });
        const byField = {};
        for (const saved of item.files) {
          (byField[saved.field] ||= []).push(
            new File([saved.blob], saved.name, { type: saved.type, lastModified: saved.lastModified }),
          );
        }
        for (const [name, files] of Object.entries(byField)) {
          const input = form.querySelector(`input[type=file][name="${name}"]`);
          if (!input || input.files.length || !putFiles(input, files)) continue;
          keepPhotos(form, input, files);
          const size = formatSize(totalSize(files));
          say(photoStatus(input), message(input, "photos-restored", { n: files.length, size }), "restored");
        }
        saveDraft(form);
        return box.remove(item.key);
      })
      .catch(() => {});
  }

  document.addEventListener("yishi:outbox", () => {
    for (const form of document.querySelectorAll("form[data-outbox]")) takeBackRefused(form);
  });

  function allowSending(form) {
    delete form.dataset.sending;
    for (const button of submitButtons(form)) {
      if (!button.dataset.disabledBy) button.disabled = false;
    }
  }

  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return; // back from the cache: the buttons must work again
    for (const form of document.querySelectorAll("form[data-issue-form][data-sending]")) {
      allowSending(form);
    }
  });
  window.addEventListener("pagehide", saveAllPending);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") saveAllPending();
  });
  document.addEventListener("htmx:load", (event) => {
    if (event.target instanceof Element) setUp(event.target);
  });

  forgetExpiredDrafts();
  setUp(document);
})();
