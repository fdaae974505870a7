/*
 * dashboard.js: draws the scoreboard's charts. Each <canvas data-scoreboard-chart="id">
 * reads its Chart.js config from {{ config|json_script:"id" }}. Configs with
 * "xDates": true have millisecond timestamps on x, shown as dates (JSON cannot carry
 * the tick callback). Runs again for the #board partial htmx swaps in every 60 s.
 */
(function () {
  "use strict";

  var DATE = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });

  function draw(canvas) {
    if (!window.Chart) return;
    var source = document.getElementById(canvas.getAttribute("data-scoreboard-chart"));
    if (!source) return;
    var config = JSON.parse(source.textContent);
    if (config.xDates) {
      config.options.scales.x.ticks.callback = function (value) { return DATE.format(new Date(value)); };
      config.options.plugins = config.options.plugins || {};
      config.options.plugins.tooltip = {
        callbacks: {
          label: function (ctx) {
            return ctx.dataset.label + ": " + DATE.format(new Date(ctx.parsed.x)) + ", " + ctx.parsed.y + " d";
          },
        },
      };
    }
    // Axis text and grid lines follow the theme (see .chart-box in opshub.css).
    var style = getComputedStyle(canvas.parentElement);
    window.Chart.defaults.color = style.color;
    window.Chart.defaults.borderColor = style.columnRuleColor;
    // Chart text scales with the board's type (larger on a projector).
    window.Chart.defaults.font.size = parseFloat(style.fontSize) * 0.85;
    var existing = window.Chart.getChart(canvas);
    if (existing) existing.destroy();
    new window.Chart(canvas, config);
  }

  function init(scope) {
    scope.querySelectorAll("canvas[data-scoreboard-chart]").forEach(draw);
  }

  // A window that cannot be read answers 400 with the per-field messages: show them
  // (htmx 2 swaps no 4xx answer by itself).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (event.detail.xhr.status === 400 && target && target.id === "board") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
