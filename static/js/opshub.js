/*
 * opshub.js: the only site-wide script. Loaded without `defer` from <head>
 * so the saved theme is applied before first paint (no inline script is
 * allowed under our CSP, so this file is where that has to happen).
 * htmx is configured by <meta name="htmx-config">, not here.
 */
(function () {
  "use strict";

  var THEME_KEY = "opshub-theme";
  var FLASH_DELAY_MS = 6000;
  var root = document.documentElement;

  function savedTheme() {
    try {
      return localStorage.getItem(THEME_KEY);
    } catch (e) {
      return null; // storage disabled: follow the OS setting
    }
  }

  function effectiveTheme() {
    var forced = root.getAttribute("data-theme");
    if (forced === "dark" || forced === "light") return forced;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  var initial = savedTheme();
  if (initial === "dark" || initial === "light") root.setAttribute("data-theme", initial);

  // The label names the action (the theme you switch to), so no aria-pressed.
  function syncToggle(button) {
    button.textContent = effectiveTheme() === "dark" ? "Light theme" : "Dark theme";
  }

  function initThemeToggle(button) {
    syncToggle(button);
    button.hidden = false; // rendered hidden: it does nothing without this script
    button.addEventListener("click", function () {
      var next = effectiveTheme() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try {
        localStorage.setItem(THEME_KEY, next);
      } catch (e) {
        /* theme still applies for this page */
      }
      syncToggle(button);
      document.querySelectorAll("canvas[data-chart]").forEach(initChart); // recolour axes
    });
  }

  function dismiss(flash) {
    flash.classList.add("is-hiding");
    window.setTimeout(function () {
      flash.remove();
    }, 300);
  }

  // Success and info messages fade after a few seconds; warnings and errors
  // stay until dismissed, and hovering or focusing a message keeps it.
  function initFlash(flash) {
    var button = flash.querySelector("[data-dismiss]");
    if (button) button.addEventListener("click", function () { dismiss(flash); });
    if (!flash.matches(".flash-success, .flash-info")) return;
    var timer = null;
    function arm() { timer = window.setTimeout(function () { dismiss(flash); }, FLASH_DELAY_MS); }
    function hold() { window.clearTimeout(timer); }
    flash.addEventListener("mouseenter", hold);
    flash.addEventListener("focusin", hold);
    flash.addEventListener("mouseleave", arm);
    flash.addEventListener("focusout", arm);
    arm();
  }

  // <canvas data-chart="config-id"> draws the Chart.js config found in
  // {{ config|json_script:"config-id" }}, on pages that load Chart.js.
  function initChart(canvas) {
    if (!window.Chart) return;
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) return;
    // Axis text and grid lines follow the theme (Chart.js defaults assume a
    // light page). .chart-box exposes the resolved colours as `color` and
    // `column-rule-color`, because the tokens themselves are light-dark() pairs.
    var style = getComputedStyle(canvas.parentElement);
    window.Chart.defaults.color = style.color;
    window.Chart.defaults.borderColor = style.columnRuleColor;
    var existing = window.Chart.getChart(canvas);
    if (existing) existing.destroy();
    new window.Chart(canvas, JSON.parse(source.textContent));
  }

  var seen = new WeakSet();
  function init(scope) {
    var handlers = [
      ["[data-theme-toggle]", initThemeToggle],
      [".flash", initFlash],
      ["canvas[data-chart]", initChart],
    ];
    handlers.forEach(function (pair) {
      var nodes = Array.prototype.slice.call(scope.querySelectorAll(pair[0]));
      if (scope.matches && scope.matches(pair[0])) nodes.push(scope);
      nodes.forEach(function (node) {
        if (seen.has(node)) return;
        seen.add(node);
        pair[1](node);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // Content swapped in by htmx (flashes, charts) gets the same behaviour.
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
