// Draws the dashboard's charts from the JSON the server wrote into the page (#dashboard-data).
// The tables beside each chart hold the same numbers; the charts are for the eye only.
(function () {
  "use strict";
  var charts = [];

  function locale() {
    return (document.documentElement.lang || "").toLowerCase().indexOf("zh") === 0 ? "ZH" : "EN";
  }

  // Marks at least 3:1 against the white card (WCAG 1.4.11); text in the canvas at 16 px.
  var COLOURS = ["#1f5fa8", "#b3261e", "#1b6e3a", "#8a5a00"];
  function text(more) {
    var style = { fontSize: 16, color: "#1f2328" };
    Object.keys(more || {}).forEach(function (key) { style[key] = more[key]; });
    return style;
  }

  function options(name, data) {
    // richText tooltips are drawn in the canvas: no inline HTML styles for the CSP to refuse.
    var tooltip = { trigger: name === "months" ? "axis" : "item", renderMode: "richText", confine: true };
    if (name === "months") {
      return {
        color: COLOURS,
        textStyle: text(),
        tooltip: tooltip,
        legend: { top: 0, textStyle: text() },
        grid: { left: 8, right: 8, bottom: 8, top: 32, containLabel: true },
        xAxis: { type: "category", data: data.months, axisLabel: text() },
        yAxis: { type: "value", minInterval: 1, axisLabel: text() },
        series: [
          { name: data.names.collected, type: "bar", data: data.collected, barMaxWidth: 32 },
          { name: data.names.resolved, type: "bar", data: data.resolved, barMaxWidth: 32 }
        ]
      };
    }
    var items = data[name] || [];
    return {
      color: COLOURS,
      textStyle: text(),
      tooltip: tooltip,
      grid: { left: 8, right: 24, bottom: 8, top: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1, axisLabel: text() },
      yAxis: { type: "category", inverse: true, data: items.map(function (d) { return d.name; }),
               axisLabel: text({ width: 112, overflow: "truncate" }) },
      series: [{ type: "bar", barMaxWidth: 24, data: items.map(function (d) { return d.value; }),
                 label: text({ show: true, position: "right" }) }]
    };
  }

  function draw() {
    charts.forEach(function (chart) { chart.dispose(); });
    charts = [];
    var source = document.getElementById("dashboard-data");
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.getAttribute("data-json"));
    document.querySelectorAll(".chart[data-chart]").forEach(function (element) {
      var name = element.getAttribute("data-chart");
      if (name !== "months" && !(data[name] || []).length) { element.hidden = true; return; }
      if (name !== "months") {
        element.style.height = Math.max(120, 32 * data[name].length + 32) + "px";
      }
      var chart = window.echarts.init(element, null, { renderer: "canvas", locale: locale() });
      chart.setOption(options(name, data));
      charts.push(chart);
    });
  }

  // ECharts is most of the page's script (550 KB, see static/vendor/echarts-6.1.0/BUILD.md).
  // The tables hold the same numbers, so the page is painted and usable without it: it is
  // fetched only once the page has loaded and a chart comes near the screen, then every
  // chart is drawn.
  var self = document.currentScript;
  var ECHARTS_SRC = self ? self.getAttribute("data-echarts") : null;
  var waiting = null;
  var observer = null;

  function withECharts(then) {
    if (window.echarts) { then(); return; }
    if (waiting) { waiting.push(then); return; }
    waiting = [then];
    var script = document.createElement("script");
    script.src = ECHARTS_SRC;
    script.onload = function () {
      var callbacks = waiting;
      waiting = null;
      callbacks.forEach(function (callback) { callback(); });
    };
    document.head.appendChild(script);
  }

  function drawWhenSeen() {
    if (observer) { observer.disconnect(); observer = null; }
    if (!document.getElementById("dashboard-data")) { return; }
    if (window.echarts) { draw(); return; }
    var elements = document.querySelectorAll(".chart[data-chart]");
    if (!elements.length || !ECHARTS_SRC) { return; }
    if (!("IntersectionObserver" in window)) { withECharts(draw); return; }
    observer = new IntersectionObserver(function (entries) {
      if (!entries.some(function (entry) { return entry.isIntersecting; })) { return; }
      observer.disconnect();
      observer = null;
      withECharts(draw);
    }, { rootMargin: "0px 0px 200px 0px" });
    elements.forEach(function (element) { observer.observe(element); });
  }

  if (document.readyState === "complete") {
    drawWhenSeen();
  } else {
    window.addEventListener("load", drawWhenSeen);
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id === "figures") { drawWhenSeen(); }
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
