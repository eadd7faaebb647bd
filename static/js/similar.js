// The "is it one of these?" hints under a report's title (issues/_similar.html): asked for
// as the resident types, 400 ms after the last key, and drawn in place. Without a signal
// the request fails quietly and the hints already shown stay: the report itself is kept by
// the form's own code.
(function () {
  "use strict";
  var DELAY = 400;
  function setUp() {
    var box = document.getElementById("similar-matters");
    if (!box || !box.dataset.hintUrl) return;
    var form = box.closest("form");
    var fields = ["id_title", "id_place", "id_category"]
      .map(function (id) { return document.getElementById(id); })
      .filter(Boolean);
    var timer = null;
    var asked = "";
    var controller = null;
    function ask() {
      var query = new URLSearchParams();
      query.set("hint", "1");
      fields.forEach(function (field) { query.set(field.name, field.value); });
      var wanted = query.toString();
      if (wanted === asked) return;
      asked = wanted;
      if (controller) controller.abort();
      controller = "AbortController" in window ? new AbortController() : null;
      var url = box.dataset.hintUrl.split("?")[0] + "?" + wanted;
      fetch(url, {
        headers: { "HX-Request": "true" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var current = document.getElementById("similar-matters");
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("#similar-matters");
          if (current && fresh) current.replaceWith(fresh);
        })
        .catch(function () { asked = ""; });
    }
    function later() {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY);
    }
    fields.forEach(function (field) {
      field.addEventListener(field.tagName === "SELECT" ? "change" : "input", later);
    });
    if (form) form.addEventListener("reset", function () { asked = ""; });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
