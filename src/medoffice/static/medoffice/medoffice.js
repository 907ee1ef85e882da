// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Sortable tables: <table data-sortable> gets keyboard-operable sort buttons in its headers.
  function cellValue(row, index) {
    const cell = row.cells[index];
    if (!cell) return "";
    const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    const number = Number(raw.replace(/[$,]/g, ""));
    return raw !== "" && !Number.isNaN(number) ? number : raw.toLowerCase();
  }

  function makeSortable(table) {
    const headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.from(headers).forEach(function (th, index) {
      if (th.dataset.nosort !== undefined || th.querySelector("button")) return;
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.from(headers).forEach(function (other) { if (other.hasAttribute("aria-sort")) other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort(function (a, b) {
          const x = cellValue(a, index), y = cellValue(b, index);
          return (x > y ? 1 : x < y ? -1 : 0) * (ascending ? 1 : -1);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  // Filter box: <input data-filter-table="id"> hides rows that do not contain the text.
  function wireFilter(input) {
    const table = document.getElementById(input.dataset.filterTable);
    if (!table) return;
    input.addEventListener("input", function () {
      const needle = input.value.trim().toLowerCase();
      Array.from(table.tBodies[0].rows).forEach(function (row) {
        row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
      });
    });
  }

  // Keyboard submit: in <form data-submit-keys>, Ctrl+Enter (Cmd+Enter on a Mac) presses its
  // [data-default-submit] button (or its first submit button), from any field.
  function wireSubmitKeys(form) {
    if (form.dataset.submitKeysWired) return;
    form.dataset.submitKeysWired = "1";
    form.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.altKey) return;
      const button = form.querySelector("[data-default-submit]") ||
        form.querySelector("button[type=submit], input[type=submit]");
      event.preventDefault();
      if (button) form.requestSubmit(button); else form.requestSubmit();
    });
  }

  function enhance(root) {
    root.querySelectorAll("table[data-sortable]").forEach(makeSortable);
    root.querySelectorAll("input[data-filter-table]").forEach(wireFilter);
    root.querySelectorAll("form[data-submit-keys]").forEach(wireSubmitKeys);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (event) { enhance(event.target); });
})();
