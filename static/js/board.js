/*
 * board.js: drag a card onto the next stage's column to open its handoff gate.
 * Nothing moves on drop: the gate (checklist, required information) decides, on the item
 * page. Only cards the user may hand off are draggable (the server marks them with
 * data-handoff), and only the column right after the card's own accepts the drop; any
 * other column says why not in the status line. The "Hand off" button on each card does
 * the same without a mouse.
 */
(function () {
  "use strict";

  var board = document.getElementById("board");
  if (!board) return;
  var status = document.getElementById("board-status");
  var dragged = null; // {url, from: column position}

  function column(el) {
    return el.closest(".board-column");
  }

  function position(col) {
    return parseInt(col.getAttribute("data-position"), 10);
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  function clearTargets() {
    board.querySelectorAll(".is-drop-target, .is-drop-refused").forEach(function (col) {
      col.classList.remove("is-drop-target", "is-drop-refused");
    });
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".card[data-handoff]");
    if (!card) return;
    dragged = { url: card.getAttribute("data-handoff"), from: position(column(card)) };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/uri-list", dragged.url);
    card.classList.add("is-dragging");
    var next = board.querySelector('.board-column[data-position="' + (dragged.from + 1) + '"]');
    if (next) next.classList.add("is-drop-target");
  });

  board.addEventListener("dragend", function (event) {
    if (event.target.classList) event.target.classList.remove("is-dragging");
    clearTargets();
    dragged = null;
  });

  board.addEventListener("dragover", function (event) {
    if (!dragged) return;
    var col = column(event.target);
    if (col && position(col) === dragged.from + 1) {
      event.preventDefault(); // allows the drop here, and only here
      event.dataTransfer.dropEffect = "move";
    }
  });

  board.addEventListener("dragenter", function (event) {
    if (!dragged) return;
    var col = column(event.target);
    if (!col || position(col) === dragged.from + 1 || position(col) === dragged.from) return;
    col.classList.add("is-drop-refused");
    var next = board.querySelector('.board-column[data-position="' + (dragged.from + 1) + '"]');
    say(
      "Work moves one stage at a time through its handoff gate" +
        (next ? ": drop it on " + next.getAttribute("data-stage") + "." : ".")
    );
  });

  board.addEventListener("dragleave", function (event) {
    var col = column(event.target);
    if (col && !col.contains(event.relatedTarget)) col.classList.remove("is-drop-refused");
  });

  board.addEventListener("drop", function (event) {
    if (!dragged) return;
    var col = column(event.target);
    if (!col || position(col) !== dragged.from + 1) return;
    event.preventDefault();
    say("Opening the handoff gate…");
    window.location.assign(dragged.url);
  });
})();
