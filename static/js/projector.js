/*
 * projector.js: the breakage review on a projector. One slide at a time,
 * driven from the keyboard: ← → (and PageUp/PageDown, Space) move, 1–9 jump
 * to an agenda entry (0 = the tenth), Home/End, Esc back to the agenda, F full
 * screen. Each entry keeps its own timer while it is on screen.
 * htmx refreshes the slides inside #deck every few seconds; the slide on screen is tracked by its
 * data-key, so a breakage added from a laptop never moves the room elsewhere.
 */
(function () {
  "use strict";

  var current = "overview";
  var elapsed = {}; // data-key -> seconds spent on that slide
  var known = null; // data-keys seen so far, to announce new entries

  function deck() { return document.getElementById("deck"); }
  function slides() { return Array.prototype.slice.call(deck().querySelectorAll(".slide")); }
  function indexOf(key) {
    var list = slides();
    for (var i = 0; i < list.length; i++) if (list[i].getAttribute("data-key") === key) return i;
    return -1;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(seconds) { return Math.floor(seconds / 60) + ":" + pad(seconds % 60); }

  function renderTimer() {
    var slide = slides()[indexOf(current)];
    if (!slide) return;
    var timer = slide.querySelector(".slide-timer");
    if (!timer) return;
    var spent = elapsed[current] || 0;
    var box = parseInt(slide.getAttribute("data-timebox") || "0", 10);
    timer.textContent = "◷ " + clock(spent) + (box ? " / " + clock(box) : "");
    timer.classList.toggle("is-over", box > 0 && spent > box);
  }

  function show(index) {
    var list = slides();
    index = Math.max(0, Math.min(index, list.length - 1));
    list.forEach(function (slide, i) {
      var on = i === index;
      slide.classList.toggle("is-current", on);
      slide.hidden = !on;
    });
    current = list[index].getAttribute("data-key");
    var position = document.querySelector(".projector-position");
    if (position) position.textContent = index === 0 ? "Agenda" : index + " / " + (list.length - 1);
    if (window.location.hash !== "#" + index) history.replaceState(null, "", "#" + index);
    renderTimer();
  }

  function move(step) { show(indexOf(current) + step); }

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(function () {});
  }

  function onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var key = event.key;
    if (key === "ArrowRight" || key === "PageDown" || key === " ") move(1);
    else if (key === "ArrowLeft" || key === "PageUp") move(-1);
    else if (key === "Home") show(0);
    else if (key === "End") show(slides().length - 1);
    else if (key === "Escape") {
      var exit = deck().getAttribute("data-exit-url");
      if (current === "overview" && exit && !document.fullscreenElement) window.location.href = exit;
      else show(0);
    } else if (/^[0-9]$/.test(key)) show(key === "0" ? 10 : parseInt(key, 10));
    else if (key === "f" || key === "F") toggleFullscreen();
    else return;
    event.preventDefault();
  }

  function announce(titles) {
    var toast = document.querySelector(".projector-toast");
    if (!toast || !titles.length) return;
    toast.textContent = "New on the agenda: " + titles.join(" · ");
    toast.hidden = false;
    window.clearTimeout(announce.timer);
    announce.timer = window.setTimeout(function () { toast.hidden = true; }, 8000);
  }

  function remember() {
    var fresh = [];
    var keys = {};
    slides().forEach(function (slide) {
      var key = slide.getAttribute("data-key");
      keys[key] = true;
      if (known && !known[key]) fresh.push(slide.querySelector("h1").textContent.trim());
    });
    known = keys;
    announce(fresh);
  }

  function afterUpdate() {
    remember();
    var index = indexOf(current);
    show(index < 0 ? 0 : index);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!deck()) return;
    var start = parseInt(window.location.hash.slice(1), 10);
    remember();
    show(isNaN(start) ? 0 : start);
    document.addEventListener("keydown", onKey);
    document.querySelectorAll("[data-go]").forEach(function (button) {
      button.addEventListener("click", function () { move(button.getAttribute("data-go") === "next" ? 1 : -1); });
    });
    // afterSwap runs before the browser paints the new slides, so nothing flickers.
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "deck") afterUpdate();
    });
    window.setInterval(function () {
      if (document.hidden) return;
      elapsed[current] = (elapsed[current] || 0) + 1;
      renderTimer();
    }, 1000);
  });
})();
