// The front desk's pages: the flow board refreshes itself, and lists print.
(function () {
  "use strict";

  // Do not replace the board while someone is choosing a room or has a form in hand.
  document.addEventListener("htmx:beforeRequest", function (event) {
    const poller = document.getElementById("flow-poller");
    if (!poller || event.detail.elt !== poller) return;
    const board = document.getElementById("flow-board");
    const active = document.activeElement;
    if (board && active && board.contains(active) && active.matches("select, input")) {
      event.preventDefault();
    }
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
