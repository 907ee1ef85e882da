// Scheduling pages: keyboard shortcuts for the calendar, and appointment-type colours.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(target.tagName));
  }

  // p / n / t: previous, next, today on the calendars (links carry data-key).
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const link = document.querySelector('[data-calendar] a[data-key="' + event.key + '"]');
    if (link) {
      event.preventDefault();
      link.click();
    }
  });

  // Colour swatches from data-color (inline style attributes are not allowed by the CSP).
  function paint(root) {
    root.querySelectorAll(".swatch[data-color]").forEach(function (swatch) {
      if (/^#[0-9a-fA-F]{6}$/.test(swatch.dataset.color)) swatch.style.backgroundColor = swatch.dataset.color;
    });
  }

  // The day and week grids open scrolled to the current time (the now-line): the grid scrolls
  // the line to its middle, and the page only as far as it takes to show the whole grid, so
  // late in the day the grid's head (the days, the providers) stays in view above the line.
  function scrollToNow(root) {
    const now = root.querySelector("tr.now-row");
    if (!now) return;
    const wrap = now.closest(".grid-wrap");
    if (!wrap) { now.scrollIntoView({ block: "center" }); return; }
    const offset = now.getBoundingClientRect().top - wrap.getBoundingClientRect().top;
    wrap.scrollTop += offset - wrap.clientHeight / 2;
    wrap.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("DOMContentLoaded", function () { paint(document); scrollToNow(document); });
  document.addEventListener("htmx:afterSwap", function (event) { paint(event.target); });
})();
