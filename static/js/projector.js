/*
 * projector.js: the breakage review on a projector. One slide at a time,
 * driven from the keyboard: ← → (and PageUp/PageDown, Space) move, a number
 * jumps to that agenda entry (one digit at once; with ten or more entries, the
 * digits typed, jumping when no longer number exists, on Enter, or after a
 * pause; a lone 0 = the tenth), Home/End, Esc back to the agenda, F full
 * screen. Each entry keeps its own timer while it is on screen.
 * A signed-in facilitator also has R (reviewed), D (dismiss) and A (record the
 * one small change, in a dialog outside the polled deck) on each entry.
 * htmx refreshes the slides inside #deck every few seconds; the slide on screen is tracked by its
 * data-key, so a breakage added from a laptop never moves the room elsewhere.
 */
(function () {
  "use strict";

  var current = "overview";
  var elapsed = {}; // data-key -> seconds spent on that slide
  var known = null; // data-keys seen so far, to announce new entries
  var typed = ""; // digits typed so far, for entries past the ninth
  var typedTimer = null;
  var TYPED_PAUSE_MS = 1500;

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
    showPosition();
    if (window.location.hash !== "#" + index) history.replaceState(null, "", "#" + index);
    renderTimer();
  }

  function showPosition() {
    var position = document.querySelector(".projector-position");
    if (!position) return;
    var index = indexOf(current);
    if (typed) position.textContent = "Go to " + typed + "…";
    else position.textContent = index <= 0 ? "Agenda" : index + " / " + (slides().length - 1);
  }

  function move(step) { show(indexOf(current) + step); }

  function clearTyped() {
    window.clearTimeout(typedTimer);
    typed = "";
    showPosition();
  }

  function jumpToTyped() {
    var number = parseInt(typed, 10);
    clearTyped();
    if (!isNaN(number) && number > 0) show(number);
  }

  // One digit jumps at once when no entry has a two-digit number starting with it;
  // otherwise the digits wait for the next one, Enter, or a pause.
  function typeDigit(digit) {
    var entries = slides().length - 1;
    if (!typed && digit === "0") { show(10); return; }
    typed += digit;
    window.clearTimeout(typedTimer);
    if (parseInt(typed, 10) * 10 > entries) { jumpToTyped(); return; }
    showPosition();
    typedTimer = window.setTimeout(jumpToTyped, TYPED_PAUSE_MS);
  }

  function currentSlide() { return slides()[indexOf(current)]; }

  // R / D: the verdict forms on the slide, submitted as if their button was pressed.
  function giveVerdict(value) {
    var slide = currentSlide();
    var form = slide && slide.querySelector('form[data-verdict="' + value + '"]');
    if (!form) return false;
    form.requestSubmit();
    return true;
  }

  function recordDialog() { return document.getElementById("record-action"); }
  var recordFor = "";

  function fillRecordForm() {
    var dialog = recordDialog();
    var form = dialog && dialog.querySelector("form");
    if (!form) return;
    var label = form.querySelector("[data-record-for]");
    if (label) label.textContent = recordFor;
    var invalid = form.querySelector("[aria-invalid=true]");
    (invalid || form.querySelector('[name="title"]')).focus();
  }

  // A: the dialog for the one small change, for the breakage on screen (or a loose one
  // on the action items entry).
  function openRecord() {
    var slide = currentSlide();
    var dialog = recordDialog();
    if (!slide || !dialog) return false;
    if (!slide.hasAttribute("data-record")) {
      toast("A records the one small change on a breakage, or on the action items entry.");
      return true;
    }
    var breakage = slide.getAttribute("data-breakage") || "";
    var form = dialog.querySelector("form");
    form.querySelector('[name="breakage"]').value = breakage;
    recordFor = breakage
      ? "For breakage: " + slide.querySelector("h1").textContent.trim()
      : "A new action item, not tied to one breakage.";
    dialog.showModal();
    fillRecordForm();
    return true;
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(function () {});
  }

  function onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    // The dialog's fields take every key (Esc closes it natively).
    if (document.querySelector("dialog[open]")) return;
    var key = event.key;
    if (/^[0-9]$/.test(key)) typeDigit(key);
    else if (key === "Enter" && typed) jumpToTyped();
    else if (key === "Escape" && typed) clearTyped();
    else if (key === "ArrowRight" || key === "PageDown" || key === " ") move(1);
    else if (key === "ArrowLeft" || key === "PageUp") move(-1);
    else if (key === "Home") show(0);
    else if (key === "End") show(slides().length - 1);
    else if (key === "Escape") {
      var exit = deck().getAttribute("data-exit-url");
      if (current === "overview" && exit && !document.fullscreenElement) window.location.href = exit;
      else show(0);
    } else if (key === "f" || key === "F") toggleFullscreen();
    else if (key === "r" || key === "R") { if (!giveVerdict("reviewed")) return; }
    else if (key === "d" || key === "D") { if (!giveVerdict("dismissed")) return; }
    else if (key === "a" || key === "A") { if (!openRecord()) return; }
    else return;
    event.preventDefault();
  }

  function toast(text) {
    var box = document.querySelector(".projector-toast");
    if (!box || !text) return;
    box.textContent = text;
    box.hidden = false;
    window.clearTimeout(toast.timer);
    toast.timer = window.setTimeout(function () { box.hidden = true; }, 8000);
  }

  function announce(titles) {
    if (titles.length) toast("New on the agenda: " + titles.join(" · "));
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
    // The dialog's refused form (400) comes back with its per-field messages: show it.
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      var target = event.detail.target;
      if (event.detail.xhr.status === 400 && target && target.id === "record-action-form") {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });
    document.body.addEventListener("htmx:load", function (event) {
      if (event.target.id === "record-action-form" && recordDialog().open) fillRecordForm();
    });
    document.body.addEventListener("projectorActionRecorded", function () {
      var dialog = recordDialog();
      if (dialog && dialog.open) dialog.close();
    });
    document.body.addEventListener("projectorToast", function (event) {
      toast(event.detail && event.detail.message);
    });
    document.body.addEventListener("click", function (event) {
      if (event.target.closest("[data-open-record]")) openRecord();
      else if (event.target.closest("[data-close-record]")) recordDialog().close();
    });
    window.setInterval(function () {
      if (document.hidden) return;
      elapsed[current] = (elapsed[current] || 0) + 1;
      renderTimer();
    }, 1000);
  });
})();
