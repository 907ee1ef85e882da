// The front desk's pages: the flow board refreshes itself, and lists print.
(function () {
  "use strict";

  // Do not replace the board while someone is choosing a room (the choice would be lost).
  document.addEventListener("htmx:beforeRequest", function (event) {
    const poller = document.getElementById("flow-poller");
    if (!poller || event.detail.elt !== poller) return;
    const board = document.getElementById("flow-board");
    if (!board) return;
    const active = document.activeElement;
    const typing = active && board.contains(active) && active.matches("select, input");
    const chosen = Array.from(board.querySelectorAll("select")).some(function (s) { return s.value !== ""; });
    if (typing || chosen) event.preventDefault();
  });

  // The session ended (idle or too long): show the login page instead of a stale board.
  document.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 401) {
      window.location.reload();
    }
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-print]");
    if (button) window.print();
  });
})();
