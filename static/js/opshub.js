/*
 * opshub.js: the only site-wide script. Loaded without `defer` from <head>
 * so the saved theme is applied before first paint (no inline script is
 * allowed under our CSP, so this file is where that has to happen).
 * htmx is configured by <meta name="htmx-config">, not here; this file only
 * reports the requests that config does not swap (see requestFailed below).
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

  // Failed htmx requests. <meta name="htmx-config"> swaps a refused form (400,
  // 422) like a 200, because such an answer is the form again with its
  // per-field messages. Anything else that fails (403, 404, 409, 429, 5xx, no
  // network, or a bare 400 that carries no form) swaps nothing, so it is said
  // here, in one error banner that stays until dismissed.
  var REFUSED = /^(400|422)$/;
  var FAILURES = {
    0: "The server could not be reached. Check your connection and try again.",
    400: "The server could not read that request. Reload the page and try again.",
    403: "That is not allowed: your role does not permit it, or your session has ended. Reload the page.",
    404: "That is no longer here. Reload the page to see the current state.",
    409: "Someone changed this at the same time. Reload the page to see the latest.",
    410: "That link has expired.",
    413: "That is too large to send.",
    429: "Too many requests: wait a minute and try again.",
  };

  function failureText(status) {
    if (FAILURES[status]) return FAILURES[status];
    if (status >= 500) {
      return "Something went wrong on the server (error " + status + "). Try again in a moment; if it keeps happening, tell an admin.";
    }
    return "The request failed (error " + status + "). Reload the page and try again.";
  }

  function requestFailed(status) {
    var region = document.getElementById("messages");
    if (!region) return;
    var list = region.querySelector(".messages");
    if (!list) {
      list = document.createElement("ul");
      list.className = "messages";
      region.appendChild(list);
    }
    // One banner, however many requests fail (a poll every few seconds, say).
    var flash = list.querySelector(".flash-request");
    if (!flash) {
      flash = document.createElement("li");
      flash.className = "flash flash-error flash-request";
      flash.setAttribute("role", "alert");
      var body = document.createElement("div");
      body.className = "flash-body";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "flash-dismiss";
      button.setAttribute("data-dismiss", "");
      button.setAttribute("aria-label", "Dismiss message");
      button.textContent = "×";
      flash.appendChild(body);
      flash.appendChild(button);
      list.appendChild(flash);
      init(flash);
    }
    flash.querySelector(".flash-body").textContent = failureText(status);
  }

  // A refused form's answer is a fragment of markup. A plain-text 400 or a whole
  // error page would replace the form with "Bad Request", so it gets the banner.
  function carriesMarkup(detail) {
    var text = String(detail.serverResponse || "");
    if (!/<[a-z]/i.test(text)) return false;
    if (!/^\s*<(!doctype|html)/i.test(text)) return true;
    var elt = detail.requestConfig && detail.requestConfig.elt;
    return Boolean(detail.selectOverride || (elt && elt.closest("[hx-select], [data-hx-select]")));
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!REFUSED.test(String(detail.xhr.status)) || carriesMarkup(detail)) return;
    detail.shouldSwap = false;
    requestFailed(detail.xhr.status);
  });
  document.addEventListener("htmx:responseError", function (event) {
    requestFailed(event.detail.xhr.status);
  });
  document.addEventListener("htmx:sendError", function () { requestFailed(0); });

  // After a form comes back with problems, focus its error summary (or its first
  // invalid field) so keyboard and screen-reader users land on what to fix.
  var answered = new WeakSet();
  document.addEventListener("htmx:afterSwap", function (event) {
    var detail = event.detail;
    var elt = detail.requestConfig && detail.requestConfig.elt;
    if (!detail.xhr || answered.has(detail.xhr) || !elt || !elt.closest("form")) return;
    var scope = event.target;
    var problem = scope.querySelector(".error-summary, [aria-invalid='true']");
    if (!problem) return;
    answered.add(detail.xhr);
    problem.focus();
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // Content swapped in by htmx (flashes, charts) gets the same behaviour.
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
